"""`python -m bench seed_region [--orgs 100 --groups 40 --students 25]`: a region, loaded.

The colleges come from the demo generator and go in through `import_directory`, exactly as
`seed_demo` and a journal export do. One college per document: a region does not need to sit
in memory whole, and a college's import stays one transaction. Prints generation and import
times apart, records per second, and the linearity ratio — the time per college of the last
ten against the first ten: near 1 means an import does not slow down as the region grows.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from bench import setup_django, timed

TARGET_SECONDS = 300  # 100 colleges × 40 groups × 25 students on PostgreSQL: issue 2
LINKS = {"groups": "curators", "parents": "children", "teaching": ("teachers", "students")}


@dataclass
class Figures:
    generate: list[float] = field(default_factory=list)  # seconds per college
    load: list[float] = field(default_factory=list)
    records: list[int] = field(default_factory=list)  # rows and links per college
    steps: list[dict[str, float]] = field(default_factory=list)  # importer step -> seconds
    reimport: float = 0.0
    reimport_changed: bool = False

    @property
    def linearity(self) -> float:
        n = min(10, len(self.load) // 2)
        if not n:
            return 1.0
        return (sum(self.load[-n:]) / n) / (sum(self.load[:n]) / n)


class _StepClock:
    """The importer's `progress` callback: how long each of its steps took."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.perf_counter()
        step = label.rpartition(": ")[2]  # «КПТ: кадры» → «кадры»
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self.last
        self.last = now


def count_records(org: dict) -> int:
    """What a college writes: its rows plus the links between them (curators, children…)."""
    total = 1 + sum(
        len(org[key])
        for key in ("disciplines", "staff", "groups", "students", "parents", "teaching", "lessons")
    )
    for key, links in LINKS.items():
        for link in (links,) if isinstance(links, str) else links:
            total += sum(len(entry.get(link, ())) for entry in org[key])
    return total


def run(
    *, orgs: int, groups: int, students: int, seed: int = 1, today=None, out: TextIO = sys.stdout
) -> Figures:
    """Generate and import the region college by college into the configured database."""
    from django.db import connection
    from django.utils import timezone

    from directory.demo import FORMAT, iter_organizations
    from directory.imports import import_directory
    from directory.models import Lesson, Person

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    db = connection.settings_dict
    say(f"База: {connection.vendor} {db['NAME']}")
    say(f"Регион: {orgs} колледжей × {groups} групп × {students} обучающихся (seed {seed})")
    figures = Figures()
    colleges = iter_organizations(
        orgs=orgs,
        groups=groups,
        students=students,
        seed=seed,
        today=today or timezone.localdate(),
        passwords=False,  # hashing is Django's cost, not the importer's
    )
    last = None
    with timed() as wall:
        for n in range(1, orgs + 1):
            with timed() as generate:
                org = next(colleges)
            document = {"format": FORMAT, "organizations": [org]}
            steps = _StepClock()
            with timed() as load:
                import_directory(document, allow_mass_removal=True, progress=steps)
            figures.steps.append(steps.seconds)
            figures.generate.append(generate())
            figures.load.append(load())
            figures.records.append(count_records(org))
            last = document
            if n % 10 == 0 or n == orgs:
                say(
                    f"  {n}/{orgs}: {wall():.1f} с, последний колледж "
                    f"{figures.load[-1]:.2f} с ({figures.records[-1]} записей)"
                )
    with timed() as reimport:
        figures.reimport_changed = import_directory(last, allow_mass_removal=True).changed
    figures.reimport = reimport()

    generated, loaded, records = sum(figures.generate), sum(figures.load), sum(figures.records)
    say()
    say(f"Генерация:  {generated:8.1f} с")
    say(f"Импорт:     {loaded:8.1f} с  ({records / loaded:,.0f} записей/с, {records:,} записей)")
    say(f"Всего:      {generated + loaded:8.1f} с  (цель: 100 × 40 × 25 меньше {TARGET_SECONDS} с)")
    say(f"На колледж: {loaded / orgs:8.2f} с импорта в среднем")
    n = min(10, orgs // 2)
    if n:
        first, tail = sum(figures.load[:n]) / n, sum(figures.load[-n:]) / n
        say(
            f"Линейность: {figures.linearity:.2f} (первые {n}: {first:.2f} с на колледж, "
            f"последние {n}: {tail:.2f} с; 1.00 — время не растёт с размером базы)"
        )
        say("Шаги импорта, с на колледж (первые → последние):")
        for step in figures.steps[0]:
            head = sum(s.get(step, 0) for s in figures.steps[:n]) / n
            end = sum(s.get(step, 0) for s in figures.steps[-n:]) / n
            ratio = f"× {end / head:.2f}" if head > 0.005 else ""
            say(f"  {step:<24} {head:6.3f} → {end:6.3f} {ratio}")
    if orgs < 100:
        say(f"Прогноз на 100 колледжей такого размера: {(generated + loaded) / orgs * 100:.0f} с")
    change = "есть изменения — ОШИБКА" if figures.reimport_changed else "без изменений"
    say(f"Повторный импорт последнего колледжа: {figures.reimport:.2f} с ({change})")
    say(
        f"В базе: людей {Person.objects.count():,}, уроков {Lesson.objects.count():,}; "
        f"пик памяти процесса {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} МБ"
    )
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench seed_region", description=__doc__)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--flush", action="store_true", help="очистить непустую базу перед загрузкой"
    )
    args = parser.parse_args(argv)
    if min(args.orgs, args.groups, args.students) < 1:
        parser.error("--orgs, --groups и --students должны быть не меньше 1")

    setup_django()
    from django.core.management import call_command

    from directory.models import Organization, Person

    call_command("migrate", interactive=False, verbosity=0)
    if Organization.objects.exists() or Person.objects.exists():
        if not args.flush:
            print(
                "База не пуста: бенчмарк пишет в неё целый регион. Укажите пустую базу "
                "(DATABASE_URL) или добавьте --flush, чтобы очистить эту.",
                file=sys.stderr,
            )
            return 2
        call_command("flush", interactive=False, verbosity=0)
    figures = run(orgs=args.orgs, groups=args.groups, students=args.students, seed=args.seed)
    return 1 if figures.reimport_changed else 0

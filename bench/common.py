"""What every benchmark shares: the scales, the PostgreSQL check, the region's data, the
figures table and the timing of requests through the full middleware stack."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import setup_django

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Scale:
    name: str
    orgs: int  # the region: colleges × groups × students (issue 9)
    groups: int
    students: int
    page_groups: int  # the «Чаты» college: about 5 000 people at region scale
    page_chats: tuple[int, ...]  # chat counts the page is measured at
    picker_groups: int  # the picker's college: about 20 000 people at region scale
    push_orgs: int  # colleges whose chats the push benchmark sends
    requests: int  # requests per page measurement
    check_goals: bool


SCALES = {
    "small": Scale("small", 3, 4, 10, 4, (10, 100), 8, 1, 30, False),
    "region": Scale("region", 100, 40, 25, 80, (10, 1000), 320, 4, 200, True),
}


def parse(prog: str, doc: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m bench {prog}", description=doc)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = parser.parse_args(argv)
    args.scale = SCALES[args.scale]
    return args


def require_postgres() -> bool:
    """Django set up on PostgreSQL; False (with the reason on stderr) on anything else."""
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        print(
            f"Бенчмарки меряют PostgreSQL, а DATABASE_URL указывает на {connection.vendor}. "
            "Задайте DATABASE_URL=postgres://…/пустая_база (например, "
            "postgres://postgres@127.0.0.1:5432/epos_bench_small).",
            file=sys.stderr,
        )
        return False
    return True


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: float | str
    unit: str = ""
    goal: str = ""  # «≤ 3.00», shown next to the value
    met: bool | None = None  # None: no goal, or the goal is not checked at this scale


@dataclass
class Report:
    bench: str
    scale: Scale
    as_json: bool = False
    figures: list[Figure] = field(default_factory=list)

    def say(self, text: str) -> None:
        """Progress: to stderr with --json, so stdout stays JSON lines."""
        print(text, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def add(self, name, value, unit="", *, goal: str = "", ok: bool | None = None) -> None:
        met = ok if (goal and self.scale.check_goals) else None
        figure = Figure(name, value, unit, goal, met)
        self.figures.append(figure)
        if self.as_json:
            print(
                json.dumps(
                    {
                        "bench": self.bench,
                        "scale": self.scale.name,
                        "figure": name,
                        "value": value,
                        "unit": unit,
                        "goal": goal or None,
                        "met": met,
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
        else:
            shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
            verdict = {True: "да", False: "НЕТ", None: "—"}[met]
            goal_text = f"цель {goal}" if goal else ""
            print(f"  {name:<42} {shown:>14} {unit:<10} {goal_text:<14} {verdict}", flush=True)

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]

    def finish(self) -> int:
        if not self.as_json:
            missed = ", ".join(f.name for f in self.failed)
            if not self.scale.check_goals:
                self.say(f"[{self.bench}] масштаб {self.scale.name}: цели не проверяются")
            elif missed:
                self.say(f"[{self.bench}] цели не достигнуты: {missed}")
            else:
                self.say(f"[{self.bench}] все цели достигнуты")
        return 1 if self.failed else 0


def header(report: Report) -> None:
    from django.db import connection

    report.say(
        f"== {report.bench} (масштаб {report.scale.name}, база {connection.settings_dict['NAME']})"
    )
    if not report.as_json:
        print(f"  {'показатель':<42} {'значение':>14} {'ед.':<10} {'цель':<14} выполнена")


# --- the data ----------------------------------------------------------------------------------

EXTRA_PREFIX = "bench-"  # codes of the colleges the page and picker benchmarks add


def region_orgs():
    from directory.models import Organization

    return Organization.objects.exclude(code__startswith=EXTRA_PREFIX).order_by("pk")


def ensure_region(scale: Scale, report: Report) -> list[int]:
    """The region of this scale in the database, loaded by `bench seed_region` (the demo
    generator through `import_directory`) in a child process — its memory is not ours —
    unless it is there already. Returns the colleges' ids."""
    from django.core.management import call_command

    from directory.models import Student

    call_command("migrate", interactive=False, verbosity=0)
    orgs = list(region_orgs().values_list("pk", flat=True))
    expected = scale.orgs * scale.groups * scale.students
    students = Student.objects.filter(organization__in=orgs, is_active=True).count()
    if len(orgs) == scale.orgs and students == expected:
        return orgs
    report.say(
        f"Загрузка региона {scale.orgs} × {scale.groups} × {scale.students} "
        "(генератор seed_demo → import_directory)…"
    )
    command = [
        sys.executable,
        "-m",
        "bench",
        "seed_region",
        "--flush",
        f"--orgs={scale.orgs}",
        f"--groups={scale.groups}",
        f"--students={scale.students}",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    if done.returncode:
        raise RuntimeError(f"seed_region: {done.stderr or done.stdout}")
    report.say(f"Регион загружен за {time.perf_counter() - started:.0f} с")
    return list(region_orgs().values_list("pk", flat=True))


def ensure_college(tag: str, *, groups: int, students: int, seed: int):
    """One more college from the demo generator (code `bench-TAG`, logins `TAG.…` so they
    never meet the region's people), imported unless it is there already."""
    from django.db import connection
    from django.utils import timezone

    from directory.demo import FORMAT, iter_organizations
    from directory.imports import import_directory
    from directory.models import Organization, Student

    code = f"{EXTRA_PREFIX}{tag}"
    found = Organization.objects.filter(code=code).first()
    if found and Student.objects.filter(organization=found).count() == groups * students:
        # Steady state, as a day between two nights leaves it: the benchmark before this one
        # (`all` runs them in turn) may have written and deleted hundreds of thousands of rows,
        # and autovacuum would work through them beside the measurement, on the same cores.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        return found
    org = next(
        iter_organizations(
            orgs=1,
            groups=groups,
            students=students,
            seed=seed,
            today=timezone.localdate(),
            passwords=False,
        )
    )
    org["code"] = code
    org["name"] = f"{org['name']} ({tag})"
    org["short_name"] = f"{org['short_name']}-{tag}"
    for kind in ("staff", "students", "parents"):
        for entry in org[kind]:
            entry["login"] = f"{tag}.{entry['login']}"
    import_directory({"format": FORMAT, "organizations": [org]}, allow_mass_removal=True)
    # Steady state, as autovacuum leaves it shortly after an import: the pages are measured
    # with statistics that know this college, not with those from before it existed.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Organization.objects.get(code=code)


def reset_chats(org_ids=None) -> None:
    """No chats at all (and nothing hanging off them), as before the first night."""
    from django.db import connection

    from epos_chats.models import Chat, RebuildRun

    with connection.cursor() as cursor:
        if org_ids is None:
            cursor.execute(f"TRUNCATE {Chat._meta.db_table}, {RebuildRun._meta.db_table} CASCADE")
        else:
            Chat.objects.filter(organization__in=org_ids).delete()
            RebuildRun.objects.filter(organization__in=org_ids).delete()


def membership_fingerprint(org_ids) -> tuple[int, int]:
    """(rows, checksum) of the mandatory chats' membership: equal results give equal pairs."""
    from django.db import connection

    from epos_chats.models import Chat, ChatMember

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), coalesce(sum(hashtext(
                c.organization_id || ':' || c.kind || ':' || coalesce(c.group_id, 0) || ':'
                || m.person_id || ':' || m.is_admin::int || ':' || (c.deleted_at IS NULL)::int
            )::bigint), 0)
            FROM {ChatMember._meta.db_table} m
            JOIN {Chat._meta.db_table} c ON c.id = m.chat_id
            WHERE c.organization_id = ANY(%s) AND c.kind = ANY(%s)
            """,
            [list(org_ids), [str(k) for k in Chat.MANDATORY_KINDS]],
        )
        return tuple(cursor.fetchone())


# --- requests through the full stack ---------------------------------------------------------


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    queries: int  # per request (the last one)


TRIVIAL = "/__bench__/trivial/"


def measure(client, url: str, n: int) -> Timing:
    """`n` GETs of `url` through every middleware (django.test.Client), after two warm-ups."""
    return measure_together(client, [url], n)[0]


def measure_against(client, url: str, n: int, baseline: str = TRIVIAL) -> tuple[Timing, Timing]:
    """(`url`, `baseline`): `n` GETs of each, taken in turns — page, trivial, page, … — so
    a change in the machine's load falls on both alike and their ratio holds still."""
    page, trivial = measure_together(client, [url, baseline], n)
    return page, trivial


def measure_together(client, urls: list[str], n: int) -> list[Timing]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls:
        for _ in range(2):
            response = client.get(url, secure=True)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
    samples: list[list[float]] = [[] for _ in urls]
    for _ in range(n):
        for url, taken in zip(urls, samples, strict=True):
            started = time.perf_counter()
            client.get(url, secure=True)
            taken.append((time.perf_counter() - started) * 1000)
    timings = []
    for url, taken in zip(urls, samples, strict=True):
        with CaptureQueriesContext(connection) as queries:
            client.get(url, secure=True)
        taken.sort()
        p95 = taken[min(len(taken) - 1, int(len(taken) * 0.95))]
        timings.append(Timing(statistics.median(taken), p95, len(queries)))
    return timings


def bench_client():
    """A test client over the bench URLconf (the product's plus a trivial view)."""
    from django.test import Client
    from django.test.utils import override_settings

    override = override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"])
    override.enable()
    return Client()


def run_main(bench: str, doc: str, argv: list[str], body: Callable[[Report], None]) -> int:
    args = parse(bench, doc, argv)
    if not require_postgres():
        return 2
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    report = Report(bench, args.scale, args.json)
    header(report)
    body(report)
    return report.finish()

"""`manage.py seed_demo`: load the deterministic demo college, then show its demo sign-ins."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from directory.demo import (
    DEMO_FIRST_VK_ID,
    VK_LINK_SHARES,
    build_document,
    demo_accounts,
    vk_linked_logins,
)
from directory.imports import KINDS, DirectoryImportError, import_directory
from directory.models import Organization, Person
from vk_sync.models import VkLink
from vk_sync.services import bulk_link_demo_profiles

LOOKUP_CHUNK = 500  # logins per query: SQLite caps the parameters of one statement


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Загружает демонстрационный колледж (детерминированно для --seed) через импорт "
        "справочника, в пустой базе привязывает учебные профили VK ID части людей и печатает "
        "демо-входы. Повторный запуск обновляет расписание вокруг сегодняшней даты и больше "
        "ничего не меняет."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orgs", type=_positive, default=1, help="колледжей (1)")
        parser.add_argument("--groups", type=_positive, default=8, help="групп в колледже (8)")
        parser.add_argument(
            "--students", type=_positive, default=20, help="обучающихся в группе (20)"
        )
        parser.add_argument("--seed", type=int, default=1, help="зерно генератора (1)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="загружать, только если в базе ещё нет ни одной организации",
        )

    def handle(self, *args, orgs, groups, students, seed, if_empty, **options):
        sizes = {
            "groups": groups,
            "students": students,
            "seed": seed,
            "today": timezone.localdate(),
        }
        seeded = Organization.objects.exists()
        if if_empty and seeded:
            self.stdout.write("В базе уже есть организации: демо-данные не загружаются.")
            document = build_document(orgs=1, **sizes)  # the demo college only, for its logins
        else:
            started = time.perf_counter()
            document = build_document(orgs=orgs, **sizes)
            built = time.perf_counter()
            try:
                report = import_directory(document, allow_mass_removal=True)
            except DirectoryImportError as exc:
                lines = "\n".join(f"  {where}: {reason}" for where, reason in exc.errors)
                hint = (
                    "\nВ базе уже есть данные, возможно демо с другими --groups/--students/--seed: "
                    "очистите её (manage.py flush) или возьмите пустую."
                    if seeded
                    else ""
                )
                raise CommandError(f"Демо-данные не загружены.\n{lines}{hint}") from None
            imported = time.perf_counter()
            self._print_summary(report, orgs)
            if not seeded:
                # Only into a new database: a later run must not relink who has unlinked since.
                self._link_vk_profiles(document, seed)
            self.stdout.write(
                f"Сгенерировано за {built - started:.2f} с, загружено за {imported - built:.2f} с."
            )
        self._print_accounts(document, verbose=options["verbosity"] >= 2)

    def _print_summary(self, report, orgs: int) -> None:
        totals: dict[str, list[int]] = {}
        for kinds in report.organizations.values():
            for kind, counts in kinds.items():
                row = totals.setdefault(kind, [0, 0, 0, 0])
                for i, value in enumerate(
                    (counts.created, counts.updated, counts.unchanged, counts.deactivated)
                ):
                    row[i] += value
        p = report.people
        heading = ", ".join(report.names.values()) if orgs <= 3 else f"{orgs} колледжей"
        self.stdout.write(self.style.MIGRATE_HEADING(f"Демо-данные: {heading}"))
        rows = [("Люди", [p.created, p.updated, p.unchanged, 0])]
        rows += [(KINDS[kind], row) for kind, row in totals.items()]
        for label, (created, updated, unchanged, deactivated) in rows:
            self.stdout.write(
                f"  {label:<22} создано {created}, обновлено {updated}, "
                f"без изменений {unchanged}, деактивировано {deactivated}"
            )
        if not report.changed:
            self.stdout.write("Изменений нет: демо-данные уже загружены.")

    def _link_vk_profiles(self, document, seed: int) -> None:
        """A realistic share of people has linked a VK ID; links already there stay as they are."""
        logins = vk_linked_logins(document, seed=seed)
        ids: dict[str, int] = {}
        for start in range(0, len(logins), LOOKUP_CHUNK):
            chunk = logins[start : start + LOOKUP_CHUNK]
            ids.update(Person.objects.filter(login__in=chunk).values_list("login", "pk"))
        added = bulk_link_demo_profiles([ids[login] for login in logins], DEMO_FIRST_VK_ID)
        shares = ", ".join(
            f"{share * 100:.0f} % {label}"
            for label, share in zip(
                ("сотрудников", "обучающихся", "родителей"), VK_LINK_SHARES.values(), strict=True
            )
        )
        if added:
            self.stdout.write(
                f"Учебные профили VK ID: привязано {added} (около {shares}; "
                "все демо-входы, кроме «Родитель»)."
            )
        else:
            self.stdout.write("Учебные профили VK ID: новых привязок нет.")

    def _print_accounts(self, document, *, verbose: bool) -> None:
        college = document["organizations"][0]
        accounts = demo_accounts(document)
        usable = {
            person.login
            for person in Person.objects.filter(
                login__in=[a.login for a in accounts], is_active=True
            )
            if person.has_usable_password()
        }
        linked = set(
            VkLink.objects.filter(person__login__in=[a.login for a in accounts]).values_list(
                "person__login", flat=True
            )
        )
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"Демо-входы: {college['name']} ({college['short_name']})")
        )
        width = max(len(a.role) for a in accounts)
        login_width = max(len(a.login) for a in accounts)
        password_width = max(len("Пароль"), *(len(a.password) for a in accounts))
        self.stdout.write(
            f"  {'Роль':<{width}}  {'Логин':<{login_width}}  {'Пароль':<{password_width}}  VK ID"
        )
        for a in accounts:
            line = (
                f"  {a.role:<{width}}  {a.login:<{login_width}}  {a.password:<{password_width}}  "
                + ("привязан" if a.login in linked else "не привязан")
            )
            if a.login not in usable:
                line += "  — нет в базе (она заполнена с другими параметрами seed_demo?)"
            self.stdout.write(line)
            if verbose:
                self.stdout.write(f"  {'':<{width}}  {a.full_name}. {a.description}")

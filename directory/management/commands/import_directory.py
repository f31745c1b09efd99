"""`manage.py import_directory FILE`: load an epos-directory/1 snapshot, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from directory.imports import KINDS, DirectoryImportError, import_directory, parse_json

# Below this many records a progress bar would only flicker.
PROGRESS_FROM = 2000


class Command(BaseCommand):
    help = "Импорт справочника ОО (формат epos-directory/1): одна транзакция на файл."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON-файл в формате epos-directory/1")
        parser.add_argument(
            "--allow-mass-removal",
            action="store_true",
            help="разрешить деактивацию больше MASS_REMOVAL_THRESHOLD людей организации",
        )

    def handle(self, *args, file, allow_mass_removal, **options):
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Не удалось прочитать файл {path}: {exc.strerror}") from None
        try:
            document = parse_json(raw)
            report = import_directory(
                document,
                allow_mass_removal=allow_mass_removal,
                progress=self._progress_bar(document),
            )
        except DirectoryImportError as exc:
            lines = "\n".join(f"  {where}: {reason}" for where, reason in exc.errors)
            raise CommandError(f"Импорт не выполнен, ничего не записано.\n{lines}") from None
        finally:
            self._end_progress()
        self._print_summary(report)

    def _progress_bar(self, document):
        stream = self.stdout._out
        self._bar_shown = False
        if not (hasattr(stream, "isatty") and stream.isatty()):
            return None
        records = _count_records(document)
        if records < PROGRESS_FROM:
            return None

        def show(done: int, total: int, label: str) -> None:
            width = 30
            filled = width * done // total
            bar = "█" * filled + "·" * (width - filled)
            stream.write(f"\r[{bar}] {done}/{total} {label[:40]:<40}")
            stream.flush()
            self._bar_shown = True

        return show

    def _end_progress(self):
        if getattr(self, "_bar_shown", False):
            self.stdout._out.write("\n")

    def _print_summary(self, report):
        p = report.people
        for code, kinds in report.organizations.items():
            self.stdout.write(self.style.MIGRATE_HEADING(f"{report.names[code]} ({code})"))
            for kind, counts in kinds.items():
                self.stdout.write(
                    f"  {KINDS[kind]:<22} создано {counts.created}, обновлено {counts.updated}, "
                    f"без изменений {counts.unchanged}, деактивировано {counts.deactivated}"
                )
        self.stdout.write(
            f"Люди (по логину, во всех организациях): создано {p.created}, "
            f"обновлено {p.updated}, без изменений {p.unchanged}"
        )
        if report.changed:
            self.stdout.write(self.style.SUCCESS("Импорт выполнен."))
        else:
            self.stdout.write(self.style.SUCCESS("Изменений нет: база уже совпадает с файлом."))


def _count_records(document) -> int:
    try:
        return sum(
            len(org.get(key) or [])
            for org in document["organizations"]
            for key in ("staff", "students", "parents", "groups", "teaching", "lessons")
        )
    except (TypeError, KeyError, AttributeError):
        return 0

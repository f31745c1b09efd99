"""`manage.py nightly [--org CODE] [--now ISO] [--full]`: the 00:00 jobs, in order, now."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from directory.models import Organization
from epos_chats.nightly import run_nightly


class Command(BaseCommand):
    help = "Ночные задачи 00:00 по колледжам: пересборка обязательных чатов и следующие шаги."

    def add_arguments(self, parser):
        parser.add_argument(
            "--org",
            action="append",
            dest="codes",
            metavar="CODE",
            help="код колледжа (можно несколько раз); без него — все",
        )
        parser.add_argument("--now", help="момент запуска, ISO 8601 (по умолчанию — сейчас)")
        parser.add_argument(
            "--full",
            action="store_true",
            help="сверить состав обязательных чатов целиком, даже если справочник колледжа "
            "не менялся с прошлой пересборки",
        )

    def handle(self, *args, codes, now, full, **options):
        moment = _parse_now(now)
        organizations = Organization.objects.order_by("code")
        if codes:
            organizations = organizations.filter(code__in=codes)
            missing = set(codes) - set(organizations.values_list("code", flat=True))
            if missing:
                raise CommandError("Нет колледжей с кодами: " + ", ".join(sorted(missing)))
        stopped = 0
        for organization in organizations:
            report = run_nightly(organization, now=moment, full=full)
            stopped += report.stopped
            self.stdout.write(self.style.MIGRATE_HEADING(f"{organization} ({organization.code})"))
            for line in report.lines:
                style = self.style.WARNING if report.stopped else (lambda text: text)
                self.stdout.write(style(f"  {line}"))
        if stopped:
            self.stdout.write(self.style.WARNING(f"Остановлено по порогу: {stopped}."))


def _parse_now(value: str | None) -> dt.datetime:
    if not value:
        return timezone.now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now {value!r}: ожидается дата и время ISO 8601, например 2026-12-01T00:00+03:00"
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment

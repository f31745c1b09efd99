"""`manage.py vk_push [--org CODE] [--full]`: push the differences to the messenger now."""

from django.core.management.base import BaseCommand, CommandError

from directory.models import Organization
from epos_chats.nightly import describe_push
from vk_sync.models import SyncRun
from vk_sync.reconcile import PushBusy, push_organization


class Command(BaseCommand):
    help = "Передать в VK Мессенджер отличия чатов, участников и звонков (обычно — ночью)."

    def add_arguments(self, parser):
        parser.add_argument("--org", action="append", dest="codes", metavar="CODE")
        parser.add_argument(
            "--full", action="store_true", help="сравнить все чаты, а не только изменённые"
        )

    def handle(self, *args, codes, full, **options):
        organizations = Organization.objects.order_by("code")
        if codes:
            organizations = organizations.filter(code__in=codes)
            missing = set(codes) - set(organizations.values_list("code", flat=True))
            if missing:
                raise CommandError("Нет колледжей с кодами: " + ", ".join(sorted(missing)))
        failed = False
        for organization in organizations:
            try:
                run = push_organization(organization, trigger=SyncRun.Trigger.MANUAL, full=full)
            except PushBusy as exc:
                self.stdout.write(self.style.WARNING(str(exc)))
                failed = True
                continue
            failed |= run.status != SyncRun.Status.OK
            self.stdout.write(f"{organization} ({organization.code}): {describe_push(run)}")
        if failed:
            raise CommandError("Передача прошла не полностью: см. «Передачи в мессенджер».")

"""`manage.py vkid_unlink LOGIN`: support removes a person's «учебный профиль VK ID»."""

from django.core.management.base import BaseCommand

from vk_sync.management.commands.vkid_link import find_person
from vk_sync.models import VkLink
from vk_sync.services import unlink_vk_profile


class Command(BaseCommand):
    help = (
        "Отвязывает учебный профиль VK ID человека по логину (для технической поддержки). "
        "Из чатов VK Мессенджера он будет исключён при ближайшей синхронизации."
    )

    def add_arguments(self, parser):
        parser.add_argument("login", help="логин человека в ЭПОС.СПО")

    def handle(self, *args, login, **options):
        person = find_person(login)
        previous = VkLink.objects.filter(person=person).values_list("vk_user_id", flat=True)
        previous = previous.first()
        who = f"{person.full_name} ({person.login})"
        if unlink_vk_profile(person):
            self.stdout.write(
                self.style.SUCCESS(f"{who}: учебный профиль VK ID отвязан (был id{previous}).")
            )
        else:
            self.stdout.write(f"{who}: учебный профиль VK ID не привязан, ничего не изменилось.")

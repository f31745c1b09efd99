"""`manage.py vkid_link LOGIN VK_USER_ID`: support links a person's «учебный профиль VK ID»."""

from django.core.management.base import BaseCommand, CommandError

from directory.models import Person
from vk_sync.models import VkLink
from vk_sync.services import VkAccountTaken, VkLinkError, link_vk_profile


def find_person(login: str) -> Person:
    """The person with exactly this login; CommandError, with a hint on a case slip, if none."""
    try:
        return Person.objects.get(login=login)
    except Person.DoesNotExist:
        # Sign-in is case-sensitive, so «Ivanov.ka» is not «ivanov.ka»: say which was meant.
        similar = list(Person.objects.filter(login__iexact=login).values_list("login", flat=True))
        hint = f" Возможно, имелся в виду «{similar[0]}»." if similar else ""
        raise CommandError(f"Человека с логином «{login}» нет в справочнике.{hint}") from None


def parse_vk_user_id(value: str) -> int:
    """«123456» or «id123456» (as in a profile's address) → 123456."""
    digits = value.strip().removeprefix("id")
    if not (digits.isascii() and digits.isdecimal()):
        raise CommandError(
            f"VK_USER_ID — целое положительное число (например 123456 или id123456), "
            f"получено «{value}»."
        )
    return int(digits)


class Command(BaseCommand):
    help = (
        "Привязывает учебный профиль VK ID к человеку по логину (для технической поддержки). "
        "Прежняя привязка этого человека заменяется."
    )

    def add_arguments(self, parser):
        parser.add_argument("login", help="логин человека в ЭПОС.СПО")
        parser.add_argument("vk_user_id", help="ID пользователя VK: 123456 или id123456")

    def handle(self, *args, login, vk_user_id, **options):
        vk_user_id = parse_vk_user_id(vk_user_id)
        person = find_person(login)
        previous = VkLink.objects.filter(person=person).values_list("vk_user_id", flat=True)
        previous = previous.first()
        try:
            link_vk_profile(person, vk_user_id)
        except VkAccountTaken as exc:
            holder = (
                VkLink.objects.filter(vk_user_id=vk_user_id)
                .values_list("person__login", flat=True)
                .first()
            )
            detail = (
                f" Он привязан к «{holder}»; чтобы перенести его, сначала выполните "
                f"vkid_unlink {holder}."
                if holder
                else ""
            )
            raise CommandError(f"{exc}{detail}") from None
        except VkLinkError as exc:
            raise CommandError(str(exc)) from None

        who = f"{person.full_name} ({person.login})"
        if previous == vk_user_id:
            self.stdout.write(
                f"{who}: учебный профиль VK ID id{vk_user_id} уже привязан, ничего не изменилось."
            )
        elif previous is not None:
            self.stdout.write(
                self.style.SUCCESS(f"{who}: привязка id{previous} заменена на id{vk_user_id}.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"{who}: учебный профиль VK ID привязан, id{vk_user_id}.")
            )

"""`manage.py vkid_link LOGIN VK_USER_ID` and `manage.py vkid_unlink LOGIN`, for support."""

import io

import pytest
from django.core.management import CommandError, call_command

from epos_chats.models import AuditEvent
from tests import factories
from vk_sync.models import VkLink

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def teacher():
    return factories.PersonFactory(
        login="ivanov.ka", last_name="Иванов", first_name="Кирилл", middle_name="Андреевич"
    )


def test_vkid_link_links_the_person_by_login(teacher):
    output = run("vkid_link", "ivanov.ka", "123456")

    assert VkLink.objects.get(person=teacher).vk_user_id == 123456
    assert "Иванов Кирилл Андреевич (ivanov.ka): учебный профиль VK ID привязан, id123456" in output
    # Support acted, not the person: the audit records the system.
    assert AuditEvent.objects.get(action="vk_linked").actor is None


def test_vkid_link_takes_the_id_as_written_in_a_profile_address(teacher):
    run("vkid_link", "ivanov.ka", "id987")
    assert VkLink.objects.get(person=teacher).vk_user_id == 987


def test_vkid_link_replaces_the_persons_previous_link(teacher):
    factories.VkLinkFactory(person=teacher, vk_user_id=111)

    output = run("vkid_link", "ivanov.ka", "222")

    assert VkLink.objects.get(person=teacher).vk_user_id == 222
    assert "привязка id111 заменена на id222" in output


def test_vkid_link_to_the_same_account_again_changes_nothing(teacher):
    link = factories.VkLinkFactory(person=teacher, vk_user_id=111)

    output = run("vkid_link", "ivanov.ka", "111")

    assert "ничего не изменилось" in output
    assert VkLink.objects.get() == link
    assert not AuditEvent.objects.exists()


def test_vkid_link_refuses_an_unknown_login():
    with pytest.raises(CommandError, match="Человека с логином «nobody» нет в справочнике"):
        run("vkid_link", "nobody", "123")
    assert not VkLink.objects.exists()


def test_vkid_link_suggests_the_login_when_only_the_case_differs(teacher):
    with pytest.raises(CommandError, match=r"Возможно, имелся в виду «ivanov\.ka»"):
        run("vkid_link", "Ivanov.KA", "123")


@pytest.mark.parametrize("vk_user_id", ["abc", "-5", "12.5", "", "id", "١٢٣"])
def test_vkid_link_refuses_an_id_that_is_not_a_number(teacher, vk_user_id):
    with pytest.raises(CommandError, match="целое положительное число"):
        run("vkid_link", "ivanov.ka", vk_user_id)
    assert not VkLink.objects.exists()


@pytest.mark.parametrize("vk_user_id", ["0", str(2**63)])
def test_vkid_link_refuses_an_id_out_of_range(teacher, vk_user_id):
    with pytest.raises(CommandError, match="целым положительным числом"):
        run("vkid_link", "ivanov.ka", vk_user_id)
    assert not VkLink.objects.exists()


def test_vkid_link_refuses_an_account_held_by_another_person_and_names_them(teacher):
    holder = factories.VkLinkFactory(
        person=factories.PersonFactory(login="petrova.os"), vk_user_id=123456
    )

    with pytest.raises(CommandError) as error:
        run("vkid_link", "ivanov.ka", "123456")

    message = str(error.value)
    assert "Этот аккаунт VK уже привязан к другому пользователю" in message
    assert "«petrova.os»" in message and "vkid_unlink petrova.os" in message
    assert list(VkLink.objects.all()) == [holder]


def test_vkid_unlink_removes_the_link(teacher):
    factories.VkLinkFactory(person=teacher, vk_user_id=123456)

    output = run("vkid_unlink", "ivanov.ka")

    assert not VkLink.objects.exists()
    assert "учебный профиль VK ID отвязан (был id123456)" in output
    assert AuditEvent.objects.get(action="vk_unlinked").before == {"vk_user_id": 123456}


def test_vkid_unlink_of_a_person_not_linked_changes_nothing(teacher):
    output = run("vkid_unlink", "ivanov.ka")
    assert "не привязан, ничего не изменилось" in output


def test_vkid_unlink_refuses_an_unknown_login():
    with pytest.raises(CommandError, match="нет в справочнике"):
        run("vkid_unlink", "nobody")

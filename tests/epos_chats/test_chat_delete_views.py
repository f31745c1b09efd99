"""«Удалить чат» (F18) through HTTP: «Да, удалить» / «Отменить», the chat leaves «Чаты» and is
kept softly with its members for the push, the message, a second click, the htmx dialog."""

import re

import pytest
from django.urls import reverse

from epos_chats.models import AuditEvent, Chat, ChatMember
from tests import factories

pytestmark = pytest.mark.django_db

INDEX = reverse("epos_chats:index")
HTMX = {"HX-Request": "true"}


def visible(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def org():
    return factories.OrganizationFactory(short_name="ПК № 7")


@pytest.fixture
def admin(org):
    person = factories.StaffMemberFactory(organization=org, is_admin=True).person
    factories.VkLinkFactory(person=person)
    return person


@pytest.fixture
def club(org):
    chat = factories.ChatFactory(organization=org, title="Кружок робототехники")
    factories.ChatMemberFactory(chat=chat)
    factories.ChatMemberFactory(chat=chat, is_admin=True)
    return chat


def delete_url(chat):
    return reverse("epos_chats:delete", args=[chat.pk])


def test_delete_asks_first_with_yes_delete_and_cancel(client, admin, club):
    client.force_login(admin)
    response = client.get(delete_url(club))
    text = visible(response)
    assert "Удалить чат «Кружок робототехники»?" in text
    assert "Да, удалить" in text and "Отменить" in text
    assert f'href="{INDEX}"' in response.content.decode()
    club.refresh_from_db()
    assert club.deleted_at is None


def test_cancel_leads_back_to_the_settings_when_opened_there(client, admin, club):
    client.force_login(admin)
    response = client.get(delete_url(club), {"back": "settings"})
    settings_url = reverse("epos_chats:settings", args=[club.pk])
    assert f'<a class="btn btn--secondary" href="{settings_url}"' in response.content.decode()


def test_yes_delete_removes_the_chat_from_chats_and_keeps_it_softly(client, admin, club):
    client.force_login(admin)
    response = client.post(delete_url(club))
    assert response["Location"] == INDEX
    page = client.get(INDEX)
    assert "Чат «Кружок робототехники» удалён." in visible(page)
    assert club not in page.context["page"].object_list
    club.refresh_from_db()
    assert club.deleted_at is not None
    assert ChatMember.objects.filter(chat=club).count() == 2
    assert AuditEvent.objects.filter(action="chat_deleted", object_id=club.pk).count() == 1


def test_a_second_yes_delete_says_the_chat_is_already_deleted(client, admin, club):
    client.force_login(admin)
    client.post(delete_url(club))
    response = client.post(delete_url(club))
    assert response.status_code == 302
    assert "Чат «Кружок робототехники» уже удалён." in visible(client.get(INDEX))
    assert AuditEvent.objects.filter(action="chat_deleted").count() == 1


def test_a_deleted_chats_pages_are_gone(client, admin, club):
    client.force_login(admin)
    client.post(delete_url(club))
    assert client.get(delete_url(club)).status_code == 404
    assert client.get(reverse("epos_chats:settings", args=[club.pk])).status_code == 404


def test_delete_opens_as_a_modal_and_leaves_by_a_client_redirect(client, admin, club):
    client.force_login(admin)
    modal = client.get(delete_url(club), headers=HTMX).content.decode()
    assert '<dialog class="modal"' in modal and "<html" not in modal
    assert f'hx-post="{delete_url(club)}"' in modal
    response = client.post(delete_url(club), headers=HTMX)
    assert response["HX-Redirect"] == INDEX
    club.refresh_from_db()
    assert club.deleted_at is not None


def test_the_cards_delete_icon_opens_the_dialog(client, admin, club):
    client.force_login(admin)
    html = client.get(INDEX).content.decode()
    assert (
        f'href="{delete_url(club)}" title="Удалить чат" aria-label="Удалить чат" '
        f'hx-get="{delete_url(club)}" hx-target="body" hx-swap="beforeend"'
    ) in html


def test_a_mandatory_chat_cannot_be_deleted_and_its_icon_is_inactive(client, admin, org):
    teachers = factories.ChatFactory(organization=org, kind="teachers", title="Преподаватели")
    client.force_login(admin)
    assert client.post(delete_url(teachers)).status_code == 403
    teachers.refresh_from_db()
    assert teachers.deleted_at is None
    html = client.get(INDEX).content.decode()
    assert 'title="Обязательный чат нельзя удалить"' in html
    assert f'href="{delete_url(teachers)}"' not in html


def test_delete_of_another_colleges_chat_is_not_found(client, club):
    stranger = factories.StaffMemberFactory(is_admin=True).person
    client.force_login(stranger)
    assert client.post(delete_url(club)).status_code == 404
    assert Chat.objects.get(pk=club.pk).deleted_at is None


def test_a_chat_admin_deletes_their_chat(client, org, club):
    chat_admin = ChatMember.objects.get(chat=club, is_admin=True).person
    factories.StaffMemberFactory(organization=org, person=chat_admin)
    client.force_login(chat_admin)
    assert client.post(delete_url(club)).status_code == 302
    club.refresh_from_db()
    assert club.deleted_at is not None

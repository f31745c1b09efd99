"""«Редактировать настройки чата» (F17) through HTTP: rename, the members picker and «Сохранить»,
the row's «…» (grant or revoke «Администратор чата», «Удалить из чата» with a confirmation),
the messages, concurrent edits and the dialogs htmx opens."""

import re

import pytest
from django.urls import reverse

from directory.selectors import roles_of
from epos_chats import picker, services
from epos_chats.models import AuditEvent, ChatMember
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def visible(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def members(chat):
    return dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))


@pytest.fixture
def org():
    return factories.OrganizationFactory(short_name="ПК № 7")


@pytest.fixture
def admin(org):
    """The chat's admin: a teacher, not an OO admin."""
    return factories.StaffMemberFactory(
        organization=org,
        person__last_name="Орлова",
        person__first_name="Вера",
        person__middle_name="Ильинична",
    ).person


@pytest.fixture
def student(org):
    return factories.StudentFactory(
        group__organization=org,
        person__last_name="Кузнецов",
        person__first_name="Артём",
        person__middle_name="Олегович",
    ).person


@pytest.fixture
def club(org, admin, student):
    chat = factories.ChatFactory(organization=org, title="Кружок робототехники")
    factories.ChatMemberFactory(chat=chat, person=admin, is_admin=True)
    factories.ChatMemberFactory(chat=chat, person=student)
    return chat


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def url(name, chat, *args):
    return reverse(f"epos_chats:{name}", args=[chat.pk, *args])


# Rename


def test_a_chat_admin_renames_their_chat(signed_in, club):
    response = signed_in.post(
        url("rename", club), {"title": " Кружок  дронов ", "seen": club.title}
    )
    club.refresh_from_db()
    assert club.title == "Кружок дронов"
    assert response["Location"] == url("settings", club)
    assert "Чат переименован: «Кружок дронов»." in visible(signed_in.get(response["Location"]))
    assert AuditEvent.objects.filter(action="chat_renamed").count() == 1


@pytest.mark.parametrize(
    ("title", "message"),
    [("   ", "Укажите название чата."), ("Я" * 256, "не длиннее 255 символов (сейчас 256)")],
)
def test_a_bad_name_is_refused_on_the_form_and_what_was_typed_stays(
    signed_in, club, title, message
):
    response = signed_in.post(url("rename", club), {"title": title, "seen": club.title})
    assert response.status_code == 200
    assert message in visible(response)
    club.refresh_from_db()
    assert club.title == "Кружок робототехники"
    if title.strip():
        assert f'value="{title}"' in response.content.decode()


def test_a_rename_made_meanwhile_by_someone_else_is_reported_not_overwritten(signed_in, club):
    seen = club.title
    club.title = "Кружок от коллеги"
    club.save()
    response = signed_in.post(url("rename", club), {"title": "Мой кружок", "seen": seen})
    assert response.status_code == 200
    assert "Пока вы вводили название, чат переименовали в «Кружок от коллеги»" in visible(response)
    assert 'value="Мой кружок"' in response.content.decode()
    club.refresh_from_db()
    assert club.title == "Кружок от коллеги"
    # Sent again, it applies.
    html = response.content.decode()
    seen_now = re.search(r'name="seen" value="([^"]*)"', html).group(1)
    signed_in.post(url("rename", club), {"title": "Мой кружок", "seen": seen_now})
    club.refresh_from_db()
    assert club.title == "Мой кружок"


def test_rename_opens_as_a_modal_and_answers_in_place(signed_in, club):
    modal = signed_in.get(url("rename", club), headers=HTMX).content.decode()
    assert '<dialog class="modal"' in modal and "<html" not in modal
    assert 'value="Кружок робототехники"' in modal

    error = signed_in.post(
        url("rename", club),
        {"title": "", "seen": club.title},
        headers={**HTMX, "HX-Target": "dialog-rename"},
    ).content.decode()
    assert error.lstrip().startswith('<form id="dialog-rename"')
    assert "Укажите название чата." in error

    done = signed_in.post(
        url("rename", club), {"title": "Кружок дронов", "seen": club.title}, headers=HTMX
    )
    assert done["HX-Redirect"] == url("settings", club)


def test_rename_is_a_page_of_its_own_without_javascript(signed_in, club):
    response = signed_in.get(url("rename", club))
    text = visible(response)
    assert "Переименовать чат" in text and "Сохранить" in text and "Отменить" in text
    assert f'href="{url("settings", club)}"' in response.content.decode()


def test_a_right_lost_meanwhile_is_a_403_and_changes_nothing(signed_in, club, admin, monkeypatch):
    original = services.chat_rename

    def demoted_first(**kwargs):
        # Another admin takes the right away between the page's check and the service's.
        ChatMember.objects.filter(chat=club, person=admin).update(is_admin=False)
        return original(**kwargs)

    monkeypatch.setattr(services, "chat_rename", demoted_first)
    response = signed_in.post(url("rename", club), {"title": "Чужой", "seen": club.title})
    assert response.status_code == 403
    club.refresh_from_db()
    assert club.title == "Кружок робототехники"


# «Редактировать состав участников»


def open_members(client, chat):
    response = client.get(url("members", chat))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{url('members', chat)}?draft=")
    return location, int(location.split("draft=")[1])


def test_the_members_picker_starts_from_the_chats_members(signed_in, club, admin, student):
    location, _ = open_members(signed_in, club)
    page = signed_in.get(f"{location}&tab=selected")
    assert page.status_code == 200
    text = visible(page)
    assert "Редактировать состав участников" in text
    assert "Выбранные (2)" in text
    assert "Орлова Вера Ильинична" in text and "Кузнецов Артём Олегович" in text
    assert f'id="pick-{admin.pk}-admin" name="admin" value="{admin.pk}" checked' in (
        page.content.decode()
    )


def test_saving_the_members_makes_the_chat_exactly_the_selection(
    signed_in, club, org, admin, student
):
    newcomer = factories.GuardianFactory(organization=org).person
    location, draft_id = open_members(signed_in, club)
    page = signed_in.get(location)
    seen = page.context["seen"]
    change = reverse("epos_chats:draft_change", args=[draft_id])
    signed_in.post(change, {"action": "select", "person": newcomer.pk, "selected": newcomer.pk})
    signed_in.post(change, {"action": "select", "person": student.pk})

    response = signed_in.post(url("members", club), {"draft": draft_id, "seen": seen})

    assert response["Location"] == url("settings", club)
    assert members(club) == {admin.pk: True, newcomer.pk: False}
    assert "Состав участников сохранён." in visible(signed_in.get(response["Location"]))
    event = AuditEvent.objects.get(action="chat_members_changed")
    assert event.after["added"] == [newcomer.pk] and event.after["removed"] == [student.pk]


def test_a_chat_keeps_at_least_one_admin_and_the_selection_is_kept(signed_in, club, admin):
    location, draft_id = open_members(signed_in, club)
    seen = signed_in.get(location).context["seen"]
    change = reverse("epos_chats:draft_change", args=[draft_id])
    signed_in.post(change, {"action": "admin", "person": admin.pk})

    response = signed_in.post(url("members", club), {"draft": draft_id, "seen": seen})

    assert response.status_code == 200
    assert "В чате должен остаться хотя бы один администратор." in visible(response)
    assert members(club)[admin.pk] is True
    draft = picker.draft_of(owner=admin, organization=club.organization, draft_id=draft_id)
    assert picker.draft_members(draft)[admin.pk] is False


def test_a_membership_changed_meanwhile_is_reported_and_saved_on_the_second_try(
    signed_in, club, org, admin, student
):
    location, draft_id = open_members(signed_in, club)
    seen = signed_in.get(location).context["seen"]
    # Another admin of the chat removes the student in another tab.
    other = factories.StaffMemberFactory(organization=org, is_admin=True)
    services.chat_member_remove(
        actor=other.person,
        roles=roles_of(other.person, org),
        chat=club,
        person_id=student.pk,
    )

    response = signed_in.post(url("members", club), {"draft": draft_id, "seen": seen})

    assert response.status_code == 200
    assert "Пока вы редактировали состав, чат изменил другой администратор" in visible(response)
    assert student.pk not in members(club)
    second = signed_in.post(
        url("members", club), {"draft": draft_id, "seen": response.context["seen"]}
    )
    assert second.status_code == 302
    assert student.pk in members(club)


def test_a_draft_of_another_chat_is_not_used_for_this_one(signed_in, club, org, admin):
    other_chat = factories.ChatFactory(organization=org)
    factories.ChatMemberFactory(chat=other_chat, person=admin, is_admin=True)
    _, other_draft = open_members(signed_in, other_chat)
    response = signed_in.get(url("members", club), {"draft": other_draft})
    assert response.status_code == 302 and f"draft={other_draft}" not in response["Location"]
    assert signed_in.post(url("members", club), {"draft": other_draft}).status_code == 404


# The row's «…»


def test_the_remove_confirmation_names_the_person(signed_in, club, student):
    response = signed_in.get(url("member_remove", club, student.pk))
    text = visible(response)
    assert "Удалить Кузнецов Артём Олегович из чата?" in text
    assert "Да, удалить" in text and "Отменить" in text
    assert ChatMember.objects.filter(chat=club, person=student).exists()


def test_a_member_is_removed_after_the_confirmation(signed_in, club, admin, student):
    response = signed_in.post(url("member_remove", club, student.pk))
    assert response["Location"] == url("settings", club)
    assert members(club) == {admin.pk: True}
    assert "Кузнецов Артём Олегович удалён(а) из чата «Кружок робототехники»." in visible(
        signed_in.get(response["Location"])
    )


def test_the_last_admin_cannot_be_removed(signed_in, club, admin):
    response = signed_in.post(url("member_remove", club, admin.pk), follow=True)
    assert "В чате должен остаться хотя бы один администратор." in visible(response)
    assert members(club)[admin.pk] is True


def test_removing_someone_who_is_not_a_member_is_not_found(signed_in, club, org):
    outsider = factories.StudentFactory(group__organization=org).person
    assert signed_in.post(url("member_remove", club, outsider.pk)).status_code == 404


def test_remove_opens_as_a_modal_and_leaves_by_a_client_redirect(signed_in, club, student):
    modal = signed_in.get(url("member_remove", club, student.pk), headers=HTMX).content.decode()
    assert '<dialog class="modal"' in modal and 'hx-post="' in modal
    done = signed_in.post(url("member_remove", club, student.pk), {"page": "2"}, headers=HTMX)
    assert done["HX-Redirect"] == f"{url('settings', club)}?page=2"


def test_granting_and_revoking_chat_admin(signed_in, club, admin, student):
    response = signed_in.post(url("member_admin", club, student.pk), {"is_admin": "1"}, follow=True)
    assert members(club)[student.pk] is True
    assert "Кузнецов Артём Олегович — администратор чата." in visible(response)
    response = signed_in.post(url("member_admin", club, student.pk), {"is_admin": "0"}, follow=True)
    assert members(club)[student.pk] is False
    assert "Кузнецов Артём Олегович больше не администратор чата." in visible(response)


def test_the_last_admins_right_cannot_be_revoked(signed_in, club, admin):
    response = signed_in.post(url("member_admin", club, admin.pk), {"is_admin": "0"}, follow=True)
    assert "В чате должен остаться хотя бы один администратор." in visible(response)
    assert members(club)[admin.pk] is True


@pytest.mark.parametrize("name", ["member_admin"])
def test_changes_are_post_only(signed_in, club, student, name):
    assert signed_in.get(url(name, club, student.pk)).status_code == 405
    assert members(club)[student.pk] is False


def test_a_chat_of_another_college_is_not_found(client, club):
    stranger = factories.StaffMemberFactory(is_admin=True).person
    client.force_login(stranger)
    for name in ("settings", "rename", "members", "delete"):
        assert client.get(url(name, club)).status_code == 404, name


def test_an_admin_who_leaves_the_chat_returns_to_chats(signed_in, club, org, admin, student):
    factories.ChatMemberFactory(
        chat=club, person=factories.StaffMemberFactory(organization=org).person, is_admin=True
    )
    response = signed_in.post(url("member_remove", club, admin.pk))
    assert response["Location"] == reverse("epos_chats:index")
    assert admin.pk not in members(club)

"""A chat's settings page (F12: settings and members can be viewed), for those who see the
chat on «Чаты» (F7)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epos_chats.models import ChatMember
from epos_chats.selectors import MEMBERS_PER_PAGE
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return factories.OrganizationFactory(short_name="ПК № 7")


def url(chat):
    return reverse("epos_chats:settings", args=[chat.pk])


def open_settings(client, person, chat, **params):
    client.force_login(person)
    return client.get(url(chat), params)


def text(response):
    return " ".join(response.text.split())


@pytest.fixture
def club(org):
    """«Кружок робототехники»: a custom chat created by a teacher, its admin, and a student."""
    teacher = factories.StaffMemberFactory(
        organization=org,
        position="Преподаватель информатики",
        person__last_name="Орлова",
        person__first_name="Вера",
        person__middle_name="Ильинична",
    )
    student = factories.StudentFactory(
        group__organization=org,
        group__name="ИС-21",
        person__last_name="Кузнецов",
        person__first_name="Артём",
        person__middle_name="Олегович",
    )
    factories.VkLinkFactory(person=teacher.person)
    chat = factories.ChatFactory(
        organization=org, title="Кружок робототехники", created_by=teacher.person
    )
    factories.ChatMemberFactory(chat=chat, person=teacher.person, is_admin=True)
    factories.ChatMemberFactory(chat=chat, person=student.person)
    return {"chat": chat, "teacher": teacher.person, "student": student.person}


def test_the_settings_page_is_at_chats_id(club):
    assert url(club["chat"]) == f"/chats/{club['chat'].pk}/"


def test_an_anonymous_visitor_is_sent_to_sign_in(client, club):
    response = client.get(url(club["chat"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_sees_the_chats_settings_and_members(client, club):
    response = open_settings(client, club["student"], club["chat"])

    assert response.status_code == 200
    html = text(response)
    assert '<h1 class="page-title">Кружок робототехники</h1>' in html
    assert '<span class="kind kind--custom">Произвольный чат</span>' in html
    assert "<dt>Создал</dt><dd>Орлова Вера Ильинична</dd>" in html
    assert "Участники" in html
    assert "1 / 2" in html  # linked / all
    rows = html.split("<tbody>", 1)[1]
    # Admins first, then by FIO.
    assert rows.index("Орлова Вера Ильинична") < rows.index("Кузнецов Артём Олегович")
    assert "Администратор чата" in rows.split("Кузнецов", 1)[0]
    assert "Преподаватель информатики" in rows
    assert "Обучающийся, ИС-21" in rows
    assert "привязан</span>" in rows and "не привязан</span>" in rows


def test_a_plain_member_sees_the_settings_without_any_editing_control(client, club):
    html = open_settings(client, club["student"], club["chat"]).text
    main = html.split('id="content"', 1)[1]
    assert 'method="post"' not in main
    assert "Удалить" not in main
    assert "Редактировать состав участников" not in main


def test_a_discipline_chat_shows_its_group_and_discipline(client, org):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True).person
    teaching = factories.TeachingFactory(
        group__organization=org, group__name="ТМ-31", group__course=3, discipline__name="Физика"
    )
    chat = factories.ChatFactory(
        organization=org, kind="discipline", teaching=teaching, title="Физика ТМ-31"
    )
    html = text(open_settings(client, admin, chat))
    assert "<dt>Группа</dt><dd>ТМ-31, 3 курс</dd>" in html
    assert "<dt>Дисциплина</dt><dd>Физика</dd>" in html


def test_an_oo_admin_sees_the_settings_of_any_chat_of_the_college(client, org, club):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True).person
    assert open_settings(client, admin, club["chat"]).status_code == 200


def test_a_person_of_the_college_who_is_not_a_member_is_refused(client, org, club):
    outsider = factories.StudentFactory(group__organization=org).person
    response = open_settings(client, outsider, club["chat"])
    assert response.status_code == 403
    assert "вы не его участник" in response.text


def test_a_chat_of_another_college_is_not_found_even_for_its_members(client, org, club):
    elsewhere = factories.OrganizationFactory()
    admin = factories.StaffMemberFactory(organization=elsewhere, is_admin=True).person
    factories.ChatMemberFactory(chat=club["chat"], person=admin)
    assert open_settings(client, admin, club["chat"]).status_code == 404


def test_a_deleted_chat_is_not_found(client, club):
    club["chat"].deleted_at = timezone.now()
    club["chat"].save()
    assert open_settings(client, club["teacher"], club["chat"]).status_code == 404


def test_an_unknown_chat_is_not_found(client, club):
    client.force_login(club["teacher"])
    assert client.get("/chats/999999/").status_code == 404


def test_an_epos_chat_is_shown_to_its_members_only(client, org, club):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True).person
    chat = factories.ChatFactory(organization=org, platform="epos", title="Переписка")
    factories.ChatMemberFactory(chat=chat, person=club["teacher"])
    assert open_settings(client, club["teacher"], chat).status_code == 200
    assert open_settings(client, admin, chat).status_code == 403


def test_a_mandatory_chat_says_it_cannot_be_changed(client, org):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True).person
    chat = factories.ChatFactory(organization=org, kind="teachers", title="Преподаватели")
    factories.ChatMemberFactory(chat=chat, person=admin, is_admin=True)

    html = text(open_settings(client, admin, chat))

    assert (
        "Обязательный чат: состав, название и администраторов определяет справочник ОО. "
        "Изменить или удалить его нельзя."
    ) in html
    assert "создан автоматически по справочнику ОО" in html


def test_another_chat_has_no_mandatory_note(client, club):
    assert "Обязательный чат:" not in open_settings(client, club["teacher"], club["chat"]).text


def _add_members(chat, n):
    people = factories.PersonFactory.create_batch(n)
    ChatMember.objects.bulk_create(ChatMember(chat=chat, person=p) for p in people)
    return people


def test_members_are_paged_fifty_a_page(client, club):
    _add_members(club["chat"], MEMBERS_PER_PAGE + 3)  # 55 with the two of the club

    first = open_settings(client, club["teacher"], club["chat"])
    second = open_settings(client, club["teacher"], club["chat"], page=2)
    too_far = open_settings(client, club["teacher"], club["chat"], page="abc")

    assert len(first.context["members"].object_list) == MEMBERS_PER_PAGE
    assert len(second.context["members"].object_list) == 5
    assert too_far.context["members"].number == 1
    assert 'href="?page=2"' in first.text


@pytest.mark.parametrize("n_members", [10, 200])
def test_the_settings_page_costs_the_same_queries_however_many_members(
    client, org, club, n_members, django_assert_max_num_queries
):
    people = _add_members(club["chat"], n_members)
    for person in people[::3]:
        factories.VkLinkFactory(person=person)
    for person in people[::4]:
        factories.StaffMemberFactory(organization=org, person=person)
    client.force_login(club["teacher"])
    client.get(url(club["chat"]))

    # Session, person, organizations, three roles, the chat, the counts, the total, the page,
    # the new-call mark (F27) and the chat's online calls (F19).
    with django_assert_max_num_queries(13):  # +1: the menu's unread ЭПОС total (F30)
        response = client.get(url(club["chat"]))
    assert response.status_code == 200


def test_the_settings_page_query_count_does_not_grow(client, club):
    client.force_login(club["teacher"])
    client.get(url(club["chat"]))
    with CaptureQueriesContext(connection) as few:
        client.get(url(club["chat"]))
    _add_members(club["chat"], 120)
    with CaptureQueriesContext(connection) as many:
        client.get(url(club["chat"]))
    assert len(many) == len(few)

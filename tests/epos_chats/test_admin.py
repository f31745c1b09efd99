"""Django admin of chats, rebuild runs and VK ID links: every page opens, chats are found by
their members, the changelist does not run a query per row, and F12 holds here too — a
mandatory chat is view-only whatever request is crafted."""

from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from epos_chats.admin import CREATABLE_KINDS, MANDATORY_REFUSED, ChatForm
from epos_chats.models import Chat, ChatMember, RebuildRun
from tests import factories
from vk_sync.models import VkLink

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def person(login: str, fio: str):
    last_name, first_name, middle_name = fio.split()
    return factories.PersonFactory(
        login=login, last_name=last_name, first_name=first_name, middle_name=middle_name
    )


@pytest.fixture
def superuser(client):
    support = person("support", "Админов Админ Админович")
    support.is_staff = support.is_superuser = True
    support.save()
    client.force_login(support)
    return support


@pytest.fixture
def college():
    """A college with its «Преподаватели» and «Группа ИС-21» chats and a custom chat, each with
    members; a finished rebuild; a VK ID link."""
    org = factories.OrganizationFactory(code="pk-1", short_name="ПК № 1")
    teacher = person("kivanov", "Иванов Кирилл Андреевич")
    student = person("opetrova", "Петрова Ольга Сергеевна")
    staff = factories.StaffMemberFactory(organization=org, person=teacher, is_admin=True)
    group = factories.GroupFactory(organization=org, name="ИС-21", curators=[staff])
    factories.StudentFactory(group=group, person=student)

    teachers_chat = factories.ChatFactory(organization=org, kind="teachers", title="Преподаватели")
    group_chat = factories.ChatFactory(
        organization=org, kind="group", group=group, title="Группа ИС-21"
    )
    custom = factories.ChatFactory(organization=org, kind="custom", title="Кружок робототехники")
    for chat in (teachers_chat, group_chat, custom):
        factories.ChatMemberFactory(chat=chat, person=teacher, is_admin=True)
    for chat in (group_chat, custom):
        factories.ChatMemberFactory(chat=chat, person=student)

    run = RebuildRun.objects.create(
        organization=org,
        status=RebuildRun.Status.STOPPED,
        message="Пересборка остановлена: она убрала бы 40 из 50 участников.",
    )
    link = factories.VkLinkFactory(person=teacher, vk_user_id=123456)
    return SimpleNamespace(**locals())


def changelist(client, model, query: str = "") -> list:
    response = client.get(admin_url(model, "changelist") + query)
    assert response.status_code == 200, response.content[:2000]
    return list(response.context["cl"].result_list)


def snapshot(chat: Chat):
    chat.refresh_from_db()
    members = sorted(chat.members.values_list("person__login", "is_admin"))
    return (chat.title, chat.kind, chat.deleted_at, chat.changed_at, members)


def change_data(chat: Chat, **fields) -> dict:
    """The change form of `chat` as the browser posts it, with `fields` changed."""
    members = list(chat.members.order_by("pk"))
    data = {
        "title": chat.title,
        "members-TOTAL_FORMS": len(members),
        "members-INITIAL_FORMS": len(members),
        "members-MIN_NUM_FORMS": 0,
        "members-MAX_NUM_FORMS": 1000,
        "members-2-TOTAL_FORMS": 0,
        "members-2-INITIAL_FORMS": 0,
        "members-2-MIN_NUM_FORMS": 0,
        "members-2-MAX_NUM_FORMS": 1000,
    }
    for i, member in enumerate(members):
        data[f"members-{i}-id"] = member.pk
        data[f"members-{i}-chat"] = chat.pk
        if member.is_admin:
            data[f"members-{i}-is_admin"] = "on"
    data.update(fields)
    return data


def add_data(org, **fields) -> dict:
    data = {
        "organization": org.pk,
        "kind": "custom",
        "platform": "vk",
        "title": "Новый чат",
        "teaching": "",
        "created_by": "",
        "members-TOTAL_FORMS": 0,
        "members-INITIAL_FORMS": 0,
        "members-MIN_NUM_FORMS": 0,
        "members-MAX_NUM_FORMS": 1000,
    }
    data.update(fields)
    return data


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


# Every page opens


@pytest.mark.parametrize("chat_name", ["custom", "teachers_chat", "group_chat"])
def test_every_chat_admin_page_opens(client, superuser, college, chat_name):
    chat = getattr(college, chat_name)
    urls = [
        admin_url(Chat, "changelist"),
        admin_url(Chat, "changelist") + "?q=Иванов",
        admin_url(Chat, "changelist") + "?deleted=no&kind__exact=custom",
        admin_url(Chat, "add"),
        admin_url(Chat, "change", chat.pk),
        admin_url(Chat, "history", chat.pk),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"


def test_a_custom_chats_delete_page_opens(client, superuser, college):
    response = client.get(admin_url(Chat, "delete", college.custom.pk))
    assert response.status_code == 200
    assert "будет помечен удалённым" in response.content.decode()


def test_every_rebuild_run_and_vk_link_page_opens(client, superuser, college):
    urls = [
        admin_url(RebuildRun, "changelist"),
        admin_url(RebuildRun, "changelist") + f"?organization__id__exact={college.org.pk}",
        admin_url(RebuildRun, "changelist") + "?status__exact=stopped",
        admin_url(RebuildRun, "change", college.run.pk),
        admin_url(RebuildRun, "history", college.run.pk),
        admin_url(VkLink, "changelist"),
        admin_url(VkLink, "add"),
        admin_url(VkLink, "change", college.link.pk),
        admin_url(VkLink, "delete", college.link.pk),
        admin_url(VkLink, "history", college.link.pk),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"


def test_the_person_autocomplete_of_chat_members_answers(client, superuser, college):
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "epos_chats",
            "model_name": "chatmember",
            "field_name": "person",
            "term": "Петрова",
        },
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Петрова Ольга Сергеевна"]


# The changelist


def test_the_changelist_shows_member_counts(client, superuser, college):
    rows = {chat.title: chat.member_total for chat in changelist(client, Chat)}
    assert rows == {"Преподаватели": 1, "Группа ИС-21": 2, "Кружок робототехники": 2}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Кружок", {"Кружок робототехники"}),
        ("opetrova", {"Группа ИС-21", "Кружок робототехники"}),
        ("Петрова Ольга", {"Группа ИС-21", "Кружок робототехники"}),
        ("Иванов", {"Преподаватели", "Группа ИС-21", "Кружок робототехники"}),
    ],
)
def test_chats_are_found_by_title_and_by_a_members_login_or_fio(
    client, superuser, college, query, found
):
    # A chat with two matching members is listed once.
    chats = changelist(client, Chat, f"?q={query}")
    assert sorted(chat.title for chat in chats) == sorted(found)


def test_chats_are_filtered_by_organization_kind_platform_and_deletion(client, superuser, college):
    other = factories.ChatFactory(kind="custom", platform="epos", title="Чужой чат")
    college.custom.deleted_at = college.custom.created_at
    college.custom.save()
    titles = lambda query: {chat.title for chat in changelist(client, Chat, query)}  # noqa: E731

    assert titles(f"?organization__id__exact={other.organization.pk}") == {"Чужой чат"}
    assert titles("?kind__exact=teachers") == {"Преподаватели"}
    assert titles("?platform__exact=epos") == {"Чужой чат"}
    assert titles("?deleted=yes") == {"Кружок робототехники"}
    assert "Кружок робототехники" not in titles("?deleted=no")


def test_the_rebuild_runs_are_filtered_by_organization_and_status(client, superuser, college):
    RebuildRun.objects.create(
        organization=factories.OrganizationFactory(),
        status=RebuildRun.Status.APPLIED,
        members_added=3,
    )
    stopped = changelist(client, RebuildRun, "?status__exact=stopped")
    assert stopped == [college.run]
    assert changelist(client, RebuildRun, f"?organization__id__exact={college.org.pk}") == [
        college.run
    ]


def _grow_chats(org, n):
    for _ in range(n):
        chat = factories.ChatFactory(organization=org)
        factories.ChatMemberFactory(chat=chat, is_admin=True)
        factories.ChatMemberFactory(chat=chat)


def test_the_chat_changelist_runs_as_many_queries_for_50_chats_as_for_5(
    client, superuser, django_assert_max_num_queries
):
    url = admin_url(Chat, "changelist")
    org = factories.OrganizationFactory()
    _grow_chats(org, 5)
    client.get(url)  # warm up: sessions, content types
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200

    _grow_chats(org, 45)
    with django_assert_max_num_queries(len(five)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 50
    assert {chat.member_total for chat in response.context["cl"].result_list} == {2}


def test_the_rebuild_run_and_vk_link_changelists_do_not_grow_with_their_rows(
    client, superuser, django_assert_max_num_queries
):
    org = factories.OrganizationFactory()

    def grow(n):
        for _ in range(n):
            RebuildRun.objects.create(organization=org, status=RebuildRun.Status.UNCHANGED)
            factories.VkLinkFactory()

    grow(5)
    for model in (RebuildRun, VkLink):
        client.get(admin_url(model, "changelist"))
    counts = {}
    for model in (RebuildRun, VkLink):
        with CaptureQueriesContext(connection) as queries:
            client.get(admin_url(model, "changelist"))
        counts[model] = len(queries)
    grow(45)
    for model in (RebuildRun, VkLink):
        with django_assert_max_num_queries(counts[model]):
            response = client.get(admin_url(model, "changelist"))
        assert len(response.context["cl"].result_list) == 50


# F12: mandatory chats are view-only


@pytest.mark.parametrize("chat_name", ["teachers_chat", "group_chat"])
def test_a_mandatory_chats_change_page_is_view_only(client, superuser, college, chat_name):
    chat = getattr(college, chat_name)
    response = client.get(admin_url(Chat, "change", chat.pk))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert admin_url(Chat, "delete", chat.pk) not in page
    # Members are shown, not editable, and none can be added.
    assert "kivanov" in page
    assert 'name="members-0-is_admin"' not in page
    assert 'name="members-0-DELETE"' not in page
    assert [f.formset.prefix for f in response.context["inline_admin_formsets"]] == ["members"]


@pytest.mark.parametrize("chat_name", ["teachers_chat", "group_chat"])
def test_a_mandatory_chats_delete_page_is_forbidden(client, superuser, college, chat_name):
    chat = getattr(college, chat_name)
    assert client.get(admin_url(Chat, "delete", chat.pk)).status_code == 403


@pytest.mark.parametrize("chat_name", ["teachers_chat", "group_chat"])
def test_mandatory_chat_cannot_be_renamed_or_its_members_changed_by_a_crafted_post(
    client, superuser, college, chat_name
):
    chat = getattr(college, chat_name)
    before = snapshot(chat)
    data = change_data(chat, title="Взломанный чат", kind="custom")
    data["members-0-DELETE"] = "on"
    data.pop("members-0-is_admin", None)
    data.update(
        {
            "members-2-TOTAL_FORMS": 1,
            "members-2-0-person": factories.PersonFactory().pk,
            "members-2-0-is_admin": "on",
        }
    )

    response = client.post(admin_url(Chat, "change", chat.pk), data)

    assert response.status_code == 403
    assert snapshot(chat) == before


@pytest.mark.parametrize("chat_name", ["teachers_chat", "group_chat"])
def test_mandatory_chat_cannot_be_deleted_by_a_crafted_post(client, superuser, college, chat_name):
    chat = getattr(college, chat_name)
    before = snapshot(chat)

    response = client.post(admin_url(Chat, "delete", chat.pk), {"post": "yes"})

    assert response.status_code == 403
    assert snapshot(chat) == before


def test_the_bulk_delete_action_refuses_a_selection_with_mandatory_chats(
    client, superuser, college
):
    chats = [college.teachers_chat, college.group_chat, college.custom]
    before = [snapshot(chat) for chat in chats]

    response = client.post(
        admin_url(Chat, "changelist"),
        {"action": "delete_selected", "_selected_action": [c.pk for c in chats], "post": "yes"},
    )

    assert response.status_code == 302
    assert [snapshot(chat) for chat in chats] == before
    (message,) = error_messages(response)
    assert "Ничего не удалено" in message and "«Преподаватели»" in message


def test_the_bulk_delete_action_marks_custom_chats_deleted_and_keeps_their_members(
    client, superuser, college
):
    second = factories.ChatFactory(organization=college.org, title="Второй чат")
    selection = {"action": "delete_selected", "_selected_action": [college.custom.pk, second.pk]}

    confirm = client.post(admin_url(Chat, "changelist"), selection)
    assert confirm.status_code == 200
    assert "будет помечен удалённым" in confirm.content.decode()
    response = client.post(admin_url(Chat, "changelist"), {**selection, "post": "yes"})

    assert response.status_code == 302
    for chat in (college.custom, second):
        chat.refresh_from_db()
        assert chat.deleted_at is not None and chat.changed_at == chat.deleted_at
    assert college.custom.members.count() == 2


def test_a_custom_chat_is_deleted_softly_from_its_delete_page(client, superuser, college):
    response = client.post(admin_url(Chat, "delete", college.custom.pk), {"post": "yes"})

    assert response.status_code == 302
    college.custom.refresh_from_db()
    assert college.custom.deleted_at is not None
    assert college.custom.members.count() == 2


def test_a_deleted_chat_is_view_only(client, superuser, college):
    client.post(admin_url(Chat, "delete", college.custom.pk), {"post": "yes"})
    before = snapshot(college.custom)

    response = client.post(
        admin_url(Chat, "change", college.custom.pk), change_data(college.custom, title="Снова")
    )

    assert response.status_code == 403
    assert snapshot(college.custom) == before


# Adding


def test_adding_a_chat_offers_only_the_custom_and_discipline_kinds(client, superuser):
    response = client.get(admin_url(Chat, "add"))
    assert list(response.context["adminform"].form.fields["kind"].choices) == CREATABLE_KINDS


@pytest.mark.parametrize("kind", ["teachers", "group", "parents"])
def test_adding_a_chat_of_a_mandatory_kind_is_refused(client, superuser, college, kind):
    factories.GroupFactory(organization=college.org)
    chats = Chat.objects.count()

    response = client.post(admin_url(Chat, "add"), add_data(college.org, kind=kind))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Chat.objects.count() == chats


def test_the_chat_form_refuses_a_mandatory_kind_even_past_the_choices(college):
    form = ChatForm(data={"organization": college.org.pk, "title": "X", "platform": "vk"})
    form.fields.pop("kind")
    form.instance.kind = "teachers"
    assert not form.is_valid()
    assert MANDATORY_REFUSED in form.non_field_errors()


def test_a_custom_chat_is_added_with_its_members(client, superuser, college):
    newcomer = person("nlebedev", "Лебедев Никита Олегович")
    data = add_data(
        college.org,
        title="Олимпиада по информатике",
        **{
            "members-TOTAL_FORMS": 2,
            "members-0-person": college.teacher.pk,
            "members-0-is_admin": "on",
            "members-1-person": newcomer.pk,
        },
    )

    response = client.post(admin_url(Chat, "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    chat = Chat.objects.get(title="Олимпиада по информатике")
    assert (chat.kind, chat.organization) == ("custom", college.org)
    assert sorted(chat.members.values_list("person__login", "is_admin")) == [
        ("kivanov", True),
        ("nlebedev", False),
    ]


def test_a_discipline_chat_needs_a_teaching_of_its_own_college(client, superuser, college):
    foreign = factories.TeachingFactory()
    chats = Chat.objects.count()

    missing = client.post(admin_url(Chat, "add"), add_data(college.org, kind="discipline"))
    alien = client.post(
        admin_url(Chat, "add"), add_data(college.org, kind="discipline", teaching=foreign.pk)
    )

    assert "teaching" in missing.context["adminform"].form.errors
    assert "teaching" in alien.context["adminform"].form.errors
    assert Chat.objects.count() == chats


# Editing a custom chat


def test_a_custom_chat_can_be_renamed_and_its_members_changed(client, superuser, college):
    chat = college.custom
    changed_at = chat.changed_at
    newcomer = person("nlebedev", "Лебедев Никита Олегович")
    data = change_data(chat, title="Кружок робототехники и 3D")
    student_row = next(
        i for i, m in enumerate(chat.members.order_by("pk")) if m.person == college.student
    )
    data[f"members-{student_row}-DELETE"] = "on"
    data.update({"members-2-TOTAL_FORMS": 1, "members-2-0-person": newcomer.pk})

    response = client.post(admin_url(Chat, "change", chat.pk), data)

    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.title == "Кружок робототехники и 3D"
    assert sorted(chat.members.values_list("person__login", "is_admin")) == [
        ("kivanov", True),
        ("nlebedev", False),
    ]
    assert chat.changed_at > changed_at


def test_adding_a_member_twice_is_a_form_error_not_a_crash(client, superuser, college):
    chat = college.custom
    data = change_data(chat)
    data.update({"members-2-TOTAL_FORMS": 1, "members-2-0-person": college.student.pk})

    response = client.post(admin_url(Chat, "change", chat.pk), data)

    assert response.status_code == 200
    assert "Уже в чате: Петрова О. С." in response.content.decode()
    assert ChatMember.objects.filter(chat=chat, person=college.student).count() == 1


def test_a_discipline_chats_title_is_read_only(client, superuser, college):
    teaching = factories.TeachingFactory(group=college.group)
    chat = factories.ChatFactory(
        organization=college.org, kind="discipline", teaching=teaching, title="ИС-21 — Физика"
    )

    client.post(admin_url(Chat, "change", chat.pk), change_data(chat, title="Другое"))

    chat.refresh_from_db()
    assert chat.title == "ИС-21 — Физика"


# Rebuild runs are read-only


def test_rebuild_runs_cannot_be_added_changed_or_deleted(client, superuser, college):
    run = college.run
    assert client.get(admin_url(RebuildRun, "add")).status_code == 403
    page = client.get(admin_url(RebuildRun, "change", run.pk))
    assert 'name="_save"' not in page.content.decode()
    assert client.post(admin_url(RebuildRun, "change", run.pk), {"message": "x"}).status_code == (
        403
    )
    assert client.post(admin_url(RebuildRun, "delete", run.pk), {"post": "yes"}).status_code == (
        403
    )
    run.refresh_from_db()
    assert run.message.startswith("Пересборка остановлена")


def test_the_rebuild_run_list_shows_its_counts_and_message(client, superuser, college):
    RebuildRun.objects.create(
        organization=college.org,
        status=RebuildRun.Status.APPLIED,
        chats_created=2,
        members_added=57,
        admins_changed=1,
    )
    page = client.get(admin_url(RebuildRun, "changelist")).content.decode()
    assert "создано 2" in page
    assert "добавлено 57, прав изменено 1" in page
    assert "Пересборка остановлена" in page


# VK ID links


@pytest.mark.parametrize(("query", "found"), [("Иванов", 1), ("kivanov", 1), ("123456", 1)])
def test_vk_links_are_found_by_fio_login_and_vk_id(client, superuser, college, query, found):
    factories.VkLinkFactory(person=college.student, vk_user_id=777)
    rows = changelist(client, VkLink, f"?q={query}")
    assert [row.person.login for row in rows] == ["kivanov"]


def test_a_vk_link_added_in_admin_goes_through_the_service(client, superuser, college):
    response = client.post(
        admin_url(VkLink, "add"), {"person": college.student.pk, "vk_user_id": "555"}
    )

    assert response.status_code == 302
    assert VkLink.objects.get(person=college.student).vk_user_id == 555


def test_a_vk_account_already_linked_cannot_be_added_for_another_person(client, superuser, college):
    response = client.post(
        admin_url(VkLink, "add"), {"person": college.student.pk, "vk_user_id": "123456"}
    )

    assert response.status_code == 200
    assert "vk_user_id" in response.context["adminform"].form.errors
    assert not VkLink.objects.filter(person=college.student).exists()


def test_the_audit_log_is_listed_filterable_and_read_only(admin_client):
    from epos_chats import audit
    from epos_chats.models import AuditEvent

    chat = factories.ChatFactory(title="Кружок робототехники")
    event = audit.record(
        actor=None, organization=chat.organization, action="chat_created", obj=chat
    )
    listing = admin_client.get("/admin/epos_chats/auditevent/", {"action": "chat_created"})
    assert listing.status_code == 200 and "Кружок робототехники" in listing.text
    assert "система" in listing.text
    change = admin_client.get(f"/admin/epos_chats/auditevent/{event.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.text
    assert admin_client.post(f"/admin/epos_chats/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()

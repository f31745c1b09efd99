"""The «Чаты» page (F4–F8): who sees which chats, the VK block's toolbar and list, the ЭПОС
block, and that the query string carries the whole state."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from directory.selectors import today_in
from epos_chats.messaging_selectors import conversations_of
from epos_chats.models import Chat, ChatMember, Message
from epos_chats.selectors import EPOS_CHATS_SHOWN, chats_frame
from epos_chats.templatetags.chats import IconNode, icon, url_of
from tests import factories
from vk_sync.models import RemoteChat, VkLink

pytestmark = pytest.mark.django_db

URL = "/chats/"


@pytest.fixture
def org():
    return factories.OrganizationFactory(
        short_name="ПК № 7", name="ГБПОУ «Политехнический колледж № 7»"
    )


@pytest.fixture
def other_org():
    return factories.OrganizationFactory(short_name="Чужой колледж")


def linked(person):
    factories.VkLinkFactory(person=person)
    return person


@pytest.fixture
def admin(org):
    return linked(factories.StaffMemberFactory(organization=org, is_admin=True).person)


def chat(org, title, kind="custom", members=(), **fields):
    made = factories.ChatFactory(organization=org, title=title, kind=kind, **fields)
    for person in members:
        factories.ChatMemberFactory(chat=made, person=person)
    return made


def get(client, person, params=None, **headers):
    client.force_login(person)
    response = client.get(URL, params or {}, headers=headers)
    assert response.status_code == 200
    return response


def titles(response):
    return [c.title for c in response.context["page"].object_list]


def text(response):
    """The page's text with whitespace collapsed, for phrases that span template lines."""
    return " ".join(response.text.split())


# F7: who sees what


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_is_named_chats_at_chats(client):
    assert reverse("epos_chats:index") == URL


def test_an_oo_admin_sees_every_live_vk_chat_of_the_college_and_none_of_another(
    client, org, other_org, admin
):
    chat(org, "Преподаватели", kind="teachers")
    chat(org, "Без админа")  # the admin is not a member: still shown
    chat(org, "Удалённый", deleted_at=timezone.now())
    chat(org, "Переписка ЭПОС", platform="epos", members=[admin])
    chat(other_org, "Чужой", members=[admin])

    response = get(client, admin)

    assert titles(response) == ["Без админа", "Преподаватели"]
    assert "Чужой" not in response.text
    assert "Удалённый" not in response.text


def test_a_student_sees_only_the_chats_they_belong_to(client, org):
    student = factories.StudentFactory(group__organization=org, group__name="ИС-21")
    linked(student.person)
    chat(org, "Группа ИС-21", kind="group", group=student.group, members=[student.person])
    chat(org, "Группа ИС-22", kind="group", group=factories.GroupFactory(organization=org))
    chat(org, "Преподаватели", kind="teachers")

    assert titles(get(client, student.person)) == ["Группа ИС-21"]


def test_a_parent_sees_only_the_chats_they_belong_to(client, org):
    son = factories.StudentFactory(group__organization=org)
    parent = factories.GuardianFactory(organization=org, children=[son])
    linked(parent.person)
    chat(org, "Родители ИС-21", kind="parents", group=son.group, members=[parent.person])
    chat(org, "Группа ИС-21", kind="group", group=son.group, members=[son.person])

    assert titles(get(client, parent.person)) == ["Родители ИС-21"]


def test_a_teacher_who_is_not_an_admin_sees_only_their_chats(client, org):
    teacher = linked(factories.StaffMemberFactory(organization=org).person)
    chat(org, "Преподаватели", kind="teachers", members=[teacher])
    chat(org, "Кружок робототехники", members=[teacher])
    chat(org, "Совет директоров")

    assert titles(get(client, teacher)) == ["Кружок робототехники", "Преподаватели"]


def test_a_person_of_another_college_sees_none_of_this_colleges_chats(client, org, other_org):
    stranger = linked(factories.StaffMemberFactory(organization=other_org, is_admin=True).person)
    # Even a membership left behind in this college shows nothing there.
    chat(org, "Чужой чат", members=[stranger])
    chat(other_org, "Свой чат", members=[stranger])

    response = get(client, stranger)

    assert titles(response) == ["Свой чат"]
    assert "Чужой чат" not in response.text


def test_rights_follow_the_current_organization(client, org, other_org):
    """An OO admin in one college who is a parent in another sees only their own chats there."""
    person = linked(factories.StaffMemberFactory(organization=org, is_admin=True).person)
    factories.GuardianFactory(organization=other_org, person=person)
    chat(other_org, "Родители ТМ-31", kind="custom", members=[person])
    chat(other_org, "Совет колледжа")
    chat(org, "Свой колледж")

    client.force_login(person)
    client.post(reverse("switch_organization"), {"organization": other_org.pk})
    response = client.get(URL)

    assert titles(response) == ["Родители ТМ-31"]


def test_a_person_without_a_college_is_told_so(client):
    support = factories.PersonFactory(is_staff=True)
    response = get(client, support)
    assert "Нет текущей организации" in response.text
    assert 'id="vk-block"' not in response.text


# F8: before the VK ID link


def test_without_a_vk_id_link_the_block_explains_and_offers_linking_instead_of_the_list(
    client, org
):
    teacher = factories.StaffMemberFactory(organization=org, is_admin=True).person
    chat(org, "Преподаватели", kind="teachers", members=[teacher])

    response = get(client, teacher)

    assert response.context["page"] is None
    assert "Все возможности блока «VK Мессенджер»" in response.text
    assert "учебным профилем VK ID" in response.text
    link_url = reverse("vk_sync:link")
    assert f'href="{link_url}"' in response.text
    assert "Привязать учебный профиль VK ID</a>" in response.text
    assert "Преподаватели" not in response.text
    assert 'name="q"' not in response.text
    assert "Отвязать учебный профиль VK ID" not in response.text
    assert "Новый чат" not in response.text


def test_an_htmx_request_without_a_link_reloads_the_whole_page(client, org):
    teacher = factories.StaffMemberFactory(organization=org).person
    response = get(client, teacher, {"q": "x"}, HX_Request="true")
    assert response["HX-Refresh"] == "true"


# F5: the toolbar


def test_with_a_link_the_toolbar_offers_search_the_messenger_and_unlinking(
    client, org, admin, settings
):
    settings.VK_MESSENGER_WEB_URL = "https://web.vk.me"
    response = get(client, admin)
    html = text(response)

    assert 'type="search" name="q"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'hx-push-url="true"' in html
    assert '<button type="submit" class="btn btn--secondary search__submit">Найти</button>' in html
    assert re.search(
        r'<a class="btn btn--secondary" href="https://web.vk.me" target="_blank" rel="noopener">'
        r".*?VK Мессенджер</a>",
        html,
    )
    assert f'href="{reverse("vk_sync:unlink")}"' in html
    assert "Отвязать учебный профиль VK ID</a>" in html
    assert "Привязать учебный профиль VK ID" not in html


def _create_url():
    try:
        return reverse("epos_chats:create")
    except NoReverseMatch:
        return None


def test_new_chat_is_offered_to_an_oo_admin(client, org, admin):
    html = text(get(client, admin))
    assert "Новый чат" in html
    if _create_url() is None:
        assert 'title="Создание чатов — в следующем выпуске"' in html
        assert re.search(r"<button type=\"button\" class=\"btn btn--primary\" disabled>", html)
    else:
        assert f'href="{_create_url()}"' in html


def test_new_chat_is_offered_to_a_teacher_with_a_group_by_discipline(client, org):
    teacher = factories.StaffMemberFactory(organization=org)
    factories.TeachingFactory(group__organization=org, teachers=[teacher])
    assert "Новый чат" in get(client, linked(teacher.person)).text


def test_new_chat_is_not_offered_to_a_teacher_without_teachings_or_a_student(client, org):
    idle = factories.StaffMemberFactory(organization=org)
    factories.TeachingFactory(group__organization=org, teachers=[idle], is_active=False)
    student = factories.StudentFactory(group__organization=org)
    assert "Новый чат" not in get(client, linked(idle.person)).text
    assert "Новый чат" not in get(client, linked(student.person)).text


# F6: the cards


def test_a_card_counts_linked_members_over_all_members(client, org, admin):
    people = factories.PersonFactory.create_batch(3)
    linked(people[0])
    linked(people[1])
    chat(org, "Кружок", members=people)
    chat(org, "Пустой")

    response = get(client, admin)

    counts = {c.title: (c.linked_count, c.member_count) for c in response.context["page"]}
    assert counts == {"Кружок": (2, 3), "Пустой": (0, 0)}
    assert "<strong>2</strong> / 3" in response.text
    assert 'title="Участники с привязанным учебным профилем VK ID / все участники чата"' in (
        response.text
    )


def test_a_card_has_its_type_and_marks_mandatory_chats(client, org, admin):
    group = factories.GroupFactory(organization=org, name="ИС-21")
    teaching = factories.TeachingFactory(group=group, discipline__name="Физика")
    chat(org, "Родители ИС-21", kind="parents", group=group)
    chat(org, "Физика ИС-21", kind="discipline", teaching=teaching)

    html = text(get(client, admin))

    assert '<span class="kind kind--parents">Родители</span>' in html
    assert '<span class="kind kind--discipline">Дисциплина</span>' in html
    assert html.count("обязательный</span>") == 1
    assert "ИС-21 · Физика" in html


def test_a_cards_icons_lead_to_the_messenger_and_the_settings(client, org, admin, settings):
    settings.VK_MESSENGER_WEB_URL = "https://messenger.example"
    made = chat(org, "Кружок")

    html = text(get(client, admin))

    assert (
        '<a class="icon-btn" href="https://messenger.example" target="_blank" rel="noopener" '
        'title="Чат" aria-label="Чат">'
    ) in html
    assert '<a class="chat-card__title" href="https://messenger.example"' in html
    assert (
        f'<a class="icon-btn" href="{reverse("epos_chats:settings", args=[made.pk])}" '
        'title="Редактировать настройки чата" aria-label="Редактировать настройки чата">'
    ) in html
    assert (
        '<span class="icon-btn-wrap" title="В чате нет активного онлайн-звонка">'
        '<button type="button" class="icon-btn" disabled aria-label="Онлайн-звонок">'
    ) in html


def test_a_cards_text_is_escaped(client, org, admin):
    group = factories.GroupFactory(organization=org, name="ИС-<11>")
    teaching = factories.TeachingFactory(
        group=group, discipline=factories.DisciplineFactory(organization=org, name="A&B")
    )
    made = chat(org, '<script>"Чат"</script>', kind="discipline", teaching=teaching)
    factories.CallFactory(chat=made, status="published", title="<b>Звонок</b>")

    html = get(client, admin).text

    assert "<script>" not in html and "<b>Звонок" not in html
    assert "&lt;script&gt;&quot;Чат&quot;&lt;/script&gt;" in html
    assert 'aria-hidden="true">&lt;</a>' in html  # the avatar's letter
    assert '<span class="chat-card__context">ИС-&lt;11&gt; · A&amp;B</span>' in html
    assert 'aria-label="Онлайн-звонок: &lt;b&gt;Звонок&lt;/b&gt;"' in html


def test_the_messengers_error_is_shown_to_the_oo_admin_only(client, org, admin):
    student = linked(factories.StudentFactory(group__organization=org).person)
    made = chat(org, "Сломанный", members=[student])
    RemoteChat.objects.create(chat=made, remote_chat_id=2, title="x", last_error="[927] <нет>")

    shown = text(get(client, admin))
    hidden = text(get(client, student))

    assert (
        '<span class="sync sync--error" title="[927] &lt;нет&gt;">ошибка'
        '<span class="visually-hidden">: [927] &lt;нет&gt;</span></span>'
    ) in shown
    assert '<span class="sync sync--error">ошибка</span>' in hidden


def test_icons_are_drawn_once_when_the_template_is_compiled():
    template = Template('{% load chats %}{% icon "lock" "icon icon--xs" %}{% icon name %}')
    nodes = template.nodelist.get_nodes_by_type(IconNode)

    assert nodes[0].drawn == icon("lock", "icon icon--xs")
    assert nodes[1].drawn is None  # a variable: drawn on each render
    assert template.render(Context({"name": "chat"})) == icon("lock", "icon icon--xs") + icon(
        "chat"
    )
    with pytest.raises(TemplateSyntaxError, match="нет значка"):
        Template('{% load chats %}{% icon "no-such-icon" %}')


def test_links_reversed_once_are_the_links_reverse_gives():
    assert url_of("desktop") == reverse("desktop")
    assert url_of("epos_chats:settings", 42) == reverse("epos_chats:settings", args=[42])
    assert url_of("epos_chats:settings", 7) == reverse("epos_chats:settings", args=[7])
    assert url_of("calls:join", 3) == reverse("calls:join", args=[3])


def test_the_group_select_marks_the_chosen_group_and_escapes_names(client, org, admin):
    factories.GroupFactory(organization=org, name="ИС-11", course=1)
    chosen = factories.GroupFactory(organization=org, name='Р&"Д"', course=1)
    html = get(client, admin, {"group": chosen.pk}).text
    assert f'<option value="{chosen.pk}" selected>Р&amp;&quot;Д&quot;</option>' in html


def test_a_mandatory_chat_cannot_be_deleted_from_its_card(client, org, admin):
    chat(org, "Преподаватели", kind="teachers")
    html = text(get(client, admin))
    assert (
        '<span class="icon-btn-wrap" title="Обязательный чат нельзя удалить">'
        '<button type="button" class="icon-btn" disabled aria-label="Удалить чат">'
    ) in html


def test_deleting_another_chat_waits_for_its_flow_or_is_a_link(client, org, admin):
    made = chat(org, "Кружок")
    html = text(get(client, admin))
    try:
        delete_url = reverse("epos_chats:delete", args=[made.pk])
    except NoReverseMatch:
        assert 'title="Удаление чатов — в следующем выпуске"' in html
    else:
        assert f'href="{delete_url}" title="Удалить чат"' in html


def test_a_member_who_is_not_a_chat_admin_cannot_delete_it(client, org):
    student = linked(factories.StudentFactory(group__organization=org).person)
    chat(org, "Кружок", members=[student])
    html = text(get(client, student))
    assert 'title="Удалить чат могут администратор ОО и администраторы чата"' in html


def test_no_call_is_shown_on_a_card_until_the_calls_issue_publishes_one(client, org, admin):
    chat(org, "Кружок")
    assert "chat-card__call" not in get(client, admin).text


# Search, filters, sort


def test_search_finds_chats_by_part_of_the_name_in_any_case(client, org, admin):
    chat(org, "Родители ИС-21")
    chat(org, "Родители ИС-22")
    chat(org, "Группа ИС-21")

    assert titles(get(client, admin, {"q": "родители"})) == ["Родители ИС-21", "Родители ИС-22"]
    assert titles(get(client, admin, {"q": "ис-21"})) == ["Группа ИС-21", "Родители ИС-21"]
    assert titles(get(client, admin, {"q": "  Группа  "})) == ["Группа ИС-21"]


def test_nothing_found_is_said_with_a_way_back(client, org, admin):
    chat(org, "Кружок")
    response = get(client, admin, {"q": "нет такого"})
    assert "Чатов по заданным условиям не найдено" in response.text
    assert "сбросьте фильтры" in response.text


def test_no_chats_at_all_is_said_plainly(client, org, admin):
    assert "Чатов пока нет" in get(client, admin).text


@pytest.fixture
def college(org):
    """Two courses, a chat of each kind, a discipline chat per course."""
    first = factories.GroupFactory(organization=org, name="ИС-11", course=1)
    second = factories.GroupFactory(organization=org, name="ИС-21", course=2)
    factories.GroupFactory(organization=org, name="Старая", course=3, is_active=False)
    chat(org, "Преподаватели", kind="teachers")
    chat(org, "Группа ИС-11", kind="group", group=first)
    chat(org, "Родители ИС-11", kind="parents", group=first)
    chat(org, "Группа ИС-21", kind="group", group=second)
    chat(org, "Кружок")
    chat(org, "Физика ИС-11", kind="discipline", teaching=factories.TeachingFactory(group=first))
    chat(org, "Химия ИС-21", kind="discipline", teaching=factories.TeachingFactory(group=second))
    return {"first": first, "second": second}


def test_the_type_filter_keeps_chats_of_that_type(client, admin, college):
    assert titles(get(client, admin, {"kind": "discipline"})) == ["Физика ИС-11", "Химия ИС-21"]
    assert titles(get(client, admin, {"kind": "teachers"})) == ["Преподаватели"]


def test_the_course_filter_reaches_group_chats_and_discipline_chats(client, admin, college):
    assert titles(get(client, admin, {"course": 1})) == [
        "Группа ИС-11",
        "Родители ИС-11",
        "Физика ИС-11",
    ]


def test_the_group_filter_reaches_group_chats_and_discipline_chats(client, admin, college):
    group = college["second"]
    assert titles(get(client, admin, {"group": group.pk})) == ["Группа ИС-21", "Химия ИС-21"]


def test_filters_combine(client, admin, college):
    response = get(client, admin, {"course": 1, "kind": "group", "q": "ис"})
    assert titles(response) == ["Группа ИС-11"]


def test_the_group_select_offers_the_colleges_active_groups_of_the_chosen_course(
    client, admin, college, other_org
):
    factories.GroupFactory(organization=other_org, name="Чужая")
    everything = get(client, admin).context["form"].group_choices
    first_course = get(client, admin, {"course": 1}).context["form"].group_choices
    assert [g.name for g in everything] == ["ИС-11", "ИС-21"]
    assert [g.name for g in first_course] == ["ИС-11"]


def test_a_group_of_another_course_or_college_is_ignored(client, admin, college, other_org):
    stranger = factories.GroupFactory(organization=other_org)
    everything = titles(get(client, admin))
    assert titles(get(client, admin, {"group": stranger.pk})) == everything
    assert titles(get(client, admin, {"course": 1, "group": college["second"].pk})) == titles(
        get(client, admin, {"course": 1})
    )


def test_the_active_call_filter_keeps_chats_with_a_published_call(client, org, admin):
    quiet = chat(org, "Тихий")
    live = chat(org, "Со звонком")
    factories.CallFactory(chat=live, status="published")
    factories.CallFactory(chat=quiet, status="finished")
    factories.CallFactory(chat=quiet, status="created")

    response = get(client, admin, {"call": "1"})

    assert titles(response) == ["Со звонком"]
    assert 'name="call" value="1" checked' in response.text
    assert titles(get(client, admin)) == ["Со звонком", "Тихий"]


def test_sorting_by_name_is_the_default(client, org, admin):
    for title in ("Вторник", "Артель", "Бригада"):
        chat(org, title)
    assert titles(get(client, admin)) == ["Артель", "Бригада", "Вторник"]


def test_sorting_by_type_follows_the_seeds_order_of_kinds(client, admin, college):
    kinds = [c.kind for c in get(client, admin, {"sort": "kind"}).context["page"]]
    assert kinds == ["teachers", "group", "group", "parents", "custom", "discipline", "discipline"]


def test_sorting_by_last_change_puts_the_latest_first(client, org, admin):
    now = timezone.now()
    chat(org, "Вчера", changed_at=now - dt.timedelta(days=1))
    chat(org, "Сейчас", changed_at=now)
    chat(org, "Неделю назад", changed_at=now - dt.timedelta(days=7))
    assert titles(get(client, admin, {"sort": "changed"})) == ["Сейчас", "Вчера", "Неделю назад"]


# Paging and the URL as the state


def many(org, n, prefix="Чат", **fields):
    return Chat.objects.bulk_create(
        Chat(organization=org, kind="custom", title=f"{prefix} {i:03d}", **fields) for i in range(n)
    )


def test_the_list_shows_fifteen_chats_a_page(client, org, admin):
    many(org, 32)

    first = get(client, admin)
    third = get(client, admin, {"page": 3})

    assert len(titles(first)) == 15
    assert titles(first)[0] == "Чат 000"
    assert titles(third) == ["Чат 030", "Чат 031"]
    assert first.context["page"].paginator.num_pages == 3


def test_page_links_keep_the_search_filters_sort_and_expanded_block(client, org, admin):
    many(org, 40, prefix="Кружок")
    params = {"q": "кружок", "kind": "custom", "sort": "changed", "expand": "vk"}

    html = get(client, admin, params).text

    assert 'href="?q=%D0%BA%D1%80%D1%83%D0%B6%D0%BE%D0%BA&amp;kind=custom&amp;sort=changed' in html
    assert "&amp;sort=changed&amp;expand=vk&amp;page=2" in html
    assert "&amp;expand=vk&amp;page=3" in html


def test_a_shared_link_shows_the_same_list(client, org, admin):
    many(org, 20, prefix="Кружок")
    many(org, 5, prefix="Секция")
    params = {"q": "кружок", "sort": "changed", "page": "2"}
    first_look = titles(get(client, admin, params))
    client.logout()
    assert titles(get(client, admin, params)) == first_look
    assert len(first_look) == 5


def test_a_later_page_continues_the_chosen_sort(client, org, admin):
    now = timezone.now()
    made = many(org, 40)
    for i, each in enumerate(made):
        # Newest first is the reverse of the names' order; every fifth chat is a twin in time.
        each.changed_at = now - dt.timedelta(minutes=i - i % 5)
    Chat.objects.bulk_update(made, ["changed_at"])
    expected = sorted(made, key=lambda c: (-c.changed_at.timestamp(), c.title))

    second = titles(get(client, admin, {"sort": "changed", "page": 2}))

    assert second == [c.title for c in expected[15:30]]


def test_a_later_page_sorted_by_type_continues_the_order_of_kinds(client, org, admin):
    many(org, 10, prefix="Кружок")
    group = factories.GroupFactory(organization=org)
    chat(org, "Группа", kind="group", group=group)
    chat(org, "Родители", kind="parents", group=group)
    many(org, 10, prefix="Секция")

    first = get(client, admin, {"sort": "kind"})
    second = get(client, admin, {"sort": "kind", "page": 2})

    assert [c.kind for c in first.context["page"]][:3] == ["group", "parents", "custom"]
    assert titles(first)[2:] == [f"Кружок {i:03d}" for i in range(10)] + [
        f"Секция {i:03d}" for i in range(3)
    ]
    assert titles(second) == [f"Секция {i:03d}" for i in range(3, 10)]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": "0"},
        {"page": "99999"},
        {"page": "1e9"},
        {"sort": "evil"},
        {"sort": "title; DROP TABLE chats"},
        {"kind": "evil"},
        {"course": "x"},
        {"course": "99"},
        {"group": "x"},
        {"group": "999999999999999999999"},
        {"call": "maybe"},
        {"expand": "everything"},
        {"q": "a\x00b"},
        {"q": "я" * 5000},
        {"q": "%_\\'\""},
    ],
)
def test_bad_parameters_fall_back_and_never_fail(client, org, admin, params):
    many(org, 20)
    response = get(client, admin, params)
    assert response.context["page"].object_list is not None


def test_an_invalid_page_shows_the_first_and_a_page_too_far_the_last(client, org, admin):
    many(org, 20)
    assert get(client, admin, {"page": "abc"}).context["page"].number == 1
    assert get(client, admin, {"page": "99999"}).context["page"].number == 2
    # Beyond any OFFSET PostgreSQL can hold: still the last page, not a 500.
    assert get(client, admin, {"page": str(10**30)}).context["page"].number == 2
    assert get(client, admin, {"page": "-5"}).context["page"].number == 2  # as get_page does


# HTMX


def test_an_htmx_request_gets_only_the_list(client, org, admin):
    chat(org, "Кружок")
    chat(org, "Секция")

    response = get(client, admin, {"q": "круж"}, HX_Request="true")

    assert response.text.lstrip().startswith('<div id="chat-list"')
    assert "<html" not in response.text
    assert 'id="chat-search"' not in response.text
    assert "Кружок" in response.text and "Секция" not in response.text
    # The group select, «Сбросить» and the blocks' expand links follow the new state in place.
    assert 'id="filter-group" name="group" class="select" hx-swap-oob="true"' in response.text
    assert 'id="chat-filter-buttons" class="chat-filters__buttons" hx-swap-oob="true"' in (
        response.text
    )
    assert 'href="?q=%D0%BA%D1%80%D1%83%D0%B6&amp;expand=vk"' in response.text
    assert 'href="?q=%D0%BA%D1%80%D1%83%D0%B6&amp;expand=epos"' in response.text
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_puts_the_canonical_url_in_the_address_bar(client, org, admin):
    many(org, 20)
    form_as_sent = {"q": "чат", "sort": "name", "kind": "", "course": "", "group": "x", "page": 9}
    response = get(client, admin, form_as_sent, HX_Request="true")
    assert response["HX-Push-Url"] == "/chats/?q=%D1%87%D0%B0%D1%82&page=2"
    assert get(client, admin, {"sort": "name"}, HX_Request="true")["HX-Push-Url"] == "/chats/"


def test_a_history_restore_by_htmx_gets_the_whole_page(client, org, admin):
    response = get(client, admin, HX_Request="true", HX_History_Restore_Request="true")
    assert "<html" in response.text


def test_the_search_and_filters_work_without_javascript(client, org, admin):
    html = text(get(client, admin))
    assert re.search(
        r'<form id="chat-search" class="chat-tools" method="get" action="/chats/"', html
    )
    assert '<noscript><button type="submit" class="btn btn--secondary">Применить</button>' in html


# F4: the two blocks


def test_the_vk_block_comes_above_the_epos_block(client, admin):
    html = get(client, admin).text
    assert 0 < html.index('id="vk-block"') < html.index('id="epos-block"')


def test_the_epos_block_lists_the_persons_epos_chats_only(client, org, admin):
    chat(org, "Моя переписка", platform="epos", members=[admin])
    chat(org, "Чужая переписка", platform="epos")
    chat(org, "Удалённая переписка", platform="epos", members=[admin], deleted_at=timezone.now())

    response = get(client, admin)

    assert [c.title for c in response.context["epos_chats"]] == ["Моя переписка"]
    assert "Чужая переписка" not in response.text


def test_the_epos_block_says_when_it_has_no_chats(client, admin):
    assert "Чатов ЭПОС пока нет" in get(client, admin).text


def test_an_epos_block_with_nothing_to_list_reads_no_list(client, org, admin):
    chat(org, "Чужая переписка", platform="epos")
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert "Чатов ЭПОС пока нет" in response.text
    assert response.context["epos_chats"] == [] and not response.context["epos_more"]
    assert not any("epos_chats_message" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(
    "conversation",
    ["none", "live", "deleted", "another college", "a vk chat", "left", "someone else's"],
)
def test_the_frame_knows_of_conversations_exactly_when_the_list_has_some(
    org, other_org, admin, conversation
):
    other = factories.PersonFactory()
    members = [admin, other]
    fields = {"platform": "epos"}
    if conversation == "deleted":
        fields["deleted_at"] = timezone.now()
    if conversation == "a vk chat":
        fields["platform"] = "vk"
    if conversation in ("left", "someone else's"):
        members = [other]
    if conversation != "none":
        college = other_org if conversation == "another college" else org
        chat(college, "Переписка", members=members, **fields)

    frame = chats_frame(admin, org, conversations=True)
    listed, _ = conversations_of(admin, org, limit=EPOS_CHATS_SHOWN)

    assert frame.has_conversations == bool(listed) == (conversation == "live")
    assert frame.vk_linked
    assert not chats_frame(admin, org, conversations=False).has_conversations


def test_without_a_link_the_frame_offers_no_groups(org):
    person = factories.StaffMemberFactory(organization=org).person
    first = factories.GroupFactory(organization=org, name="Б", course=1)
    second = factories.GroupFactory(organization=org, name="А", course=2)
    factories.GroupFactory(organization=org, is_active=False)
    frame = chats_frame(person, org, conversations=False)
    assert (frame.vk_linked, frame.groups) == (False, [])
    linked(person)
    groups = chats_frame(person, org, conversations=False).groups
    assert [(g.pk, g.name, g.course) for g in groups] == [(first.pk, "Б", 1), (second.pk, "А", 2)]


def test_the_epos_block_warns_before_the_date_it_is_hidden_from(client, admin, settings):
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2026, 10, 1)
    with time_machine.travel(dt.datetime(2026, 9, 15, 9, 0, tzinfo=dt.UTC), tick=False):
        response = get(client, admin)
    assert 'id="epos-block"' in response.text
    assert "<strong>Важно!</strong> С 1 октября чаты ЭПОС будут скрыты." in text(response)


def test_the_epos_block_is_gone_from_the_date_it_is_hidden_from(client, admin, settings):
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2026, 10, 1)
    with time_machine.travel(dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        response = get(client, admin)
    assert 'id="epos-block"' not in response.text
    assert "Чатов ЭПОС пока нет" not in response.text
    assert "будут скрыты" not in response.text


def test_the_epos_block_is_hidden_by_the_colleges_day(client, settings):
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2026, 10, 1)
    far_east = factories.OrganizationFactory(time_zone="Asia/Vladivostok")
    person = linked(factories.StaffMemberFactory(organization=far_east, is_admin=True).person)
    # 20:00 UTC on 30 September is still September in Moscow, 1 October in Vladivostok.
    with time_machine.travel(dt.datetime(2026, 9, 30, 20, 0, tzinfo=dt.UTC), tick=False):
        assert today_in(far_east) == dt.date(2026, 10, 1)
        response = get(client, person)
    assert 'id="epos-block"' not in response.text


def test_without_a_date_the_epos_block_stays_and_warns_of_nothing(client, admin, settings):
    settings.EPOS_CHATS_HIDDEN_FROM = None
    response = get(client, admin)
    assert 'id="epos-block"' in response.text
    assert "будут скрыты" not in response.text


def test_the_vk_block_expands_to_the_whole_screen_and_collapses_by_url(client, org, admin):
    params = {"q": "кр", "kind": "custom"}

    normal = get(client, admin, params)
    expanded = get(client, admin, {**params, "expand": "vk"})

    assert 'href="?q=%D0%BA%D1%80&amp;kind=custom&amp;expand=vk"' in normal.text
    assert 'title="Развернуть на весь экран"' in normal.text
    assert 'class="chat-block chat-block--expanded"' in expanded.text
    assert 'id="epos-block"' not in expanded.text
    collapse = 'href="?q=%D0%BA%D1%80&amp;kind=custom" title="Свернуть"'
    assert collapse in expanded.text
    assert 'name="expand" value="vk"' in expanded.text  # the search keeps it expanded


def test_the_epos_block_expands_alone(client, admin):
    expanded = get(client, admin, {"expand": "epos"})
    assert 'id="vk-block"' not in expanded.text
    assert 'class="chat-block chat-block--epos chat-block--expanded"' in expanded.text
    assert 'href="?" title="Свернуть"' in expanded.text


def test_a_hidden_epos_block_cannot_be_expanded(client, admin, settings):
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2000, 1, 1)
    response = get(client, admin, {"expand": "epos"})
    assert 'id="vk-block"' in response.text
    assert "chat-block--expanded" not in response.text


# Query count


def _college_of(org, admin, n_chats):
    """`n_chats` chats with a few members each, some with VK links, in bulk."""
    people = factories.PersonFactory.create_batch(6)
    VkLink.objects.bulk_create(VkLink(person=p, vk_user_id=900_000 + p.pk) for p in people[:3])
    group = factories.GroupFactory(organization=org, course=2)
    chats = Chat.objects.bulk_create(
        Chat(
            organization=org,
            kind="custom",
            title=f"Чат {i:04d}",
            group=group if i % 2 else None,
        )
        for i in range(n_chats)
    )
    ChatMember.objects.bulk_create(
        ChatMember(chat=c, person=p, is_admin=j == 0)
        for c in chats
        for j, p in enumerate([admin, *people[: 2 + c.pk % 4]])
    )


@pytest.mark.parametrize("n_chats", [10, 500])
@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_page_costs_the_same_queries_however_many_chats(
    client, org, n_chats, role, django_assert_max_num_queries
):
    staff = factories.StaffMemberFactory(organization=org, is_admin=role == "admin")
    person = linked(staff.person)
    _college_of(org, person, n_chats)
    client.force_login(person)
    client.get(URL)  # the first visit also stores the current organization

    # Session, person, organizations; the roles; the link with the groups and whether there
    # are ЭПОС conversations (none here: no list to read); the teaching check; the new-call
    # mark (F27); the page with its total. With 10 chats page 2 is past the end: the count
    # and the last page are two more.
    with django_assert_max_num_queries(10 if n_chats == 10 else 8):
        response = client.get(URL, {"q": "чат", "course": 2, "sort": "changed", "page": 2})

    assert response.status_code == 200
    # Half the chats are of the second course; with 10 chats page 2 is past the end: page 1.
    assert len(response.context["page"].object_list) == (15 if n_chats == 500 else 5)


def test_an_htmx_list_costs_no_more_than_the_page(client, org, admin):
    _college_of(org, admin, 50)
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as page:
        client.get(URL, {"page": 2})
    with CaptureQueriesContext(connection) as partial:
        client.get(URL, {"page": 2}, headers={"HX-Request": "true"})
    assert len(partial) <= len(page)


def test_an_htmx_list_reads_nothing_of_the_epos_block_it_does_not_show(client, org, admin):
    chat(org, "Переписка", platform="epos", members=[admin])
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as page:
        client.get(URL, {"q": "пере"})
    with CaptureQueriesContext(connection) as partial:
        response = client.get(URL, {"q": "пере"}, headers={"HX-Request": "true"})

    assert "Переписка" not in response.text
    assert len(partial) == len(page) - 1  # the ЭПОС chats, which give the menu its total too
    assert not any("epos_chats_message" in q["sql"] for q in partial.captured_queries)


def test_a_cards_counts_and_call_are_computed_for_the_pages_chats_only(client, org, admin):
    """The page's chats are picked by a subquery that sorts and cuts the list; the counts,
    the call and the joined rows belong to the outer query, which has no LIMIT of its own:
    however many chats the college has, they are computed for 15."""
    many(org, 40)
    client.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, {"page": 2})

    chats = [q["sql"] for q in queries.captured_queries if "epos_chats_chatmember" in q["sql"]]
    cards = [sql for sql in chats if "OVER ()" in sql]

    assert len(cards) == 1
    head, rest = cards[0].split("FROM (SELECT", 1)
    pick, outer = rest.split(") page", 1)
    assert pick.endswith("LIMIT 15 OFFSET 15")
    assert "COUNT(*) FROM epos_chats_chatmember" in head  # the counts: of the picked rows
    assert "LIMIT" not in outer


def test_the_list_and_its_total_are_one_query(client, org, admin):
    many(org, 40)
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"page": 3})

    sqls = [q["sql"] for q in queries.captured_queries]
    assert len([sql for sql in sqls if "OVER ()" in sql]) == 1
    assert not any('AS "__count"' in sql for sql in sqls)
    assert response.context["page"].paginator.count == 40
    assert response.context["page"].number == 3


@pytest.mark.parametrize(
    ("asked", "shown"), [("4", 3), ("0", 3), ("-2", 3), ("два", 1), ("2.0", 1), ("", 1)]
)
def test_a_page_out_of_range_follows_djangos_get_page(client, org, admin, asked, shown):
    many(org, 40)
    response = get(client, admin, {"page": asked})
    page = response.context["page"]
    assert page.number == shown
    assert len(page.object_list) == (10 if shown == 3 else 15)
    assert page.paginator.count == 40


def test_an_empty_list_costs_no_count_of_its_own(client, org, admin):
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.context["page"].paginator.count == 0
    assert not any('AS "__count"' in q["sql"] for q in queries.captured_queries)


def _conversations(org, person, n):
    """`n` ЭПОС conversations of `person`, each with one unread message from someone else."""
    other = factories.PersonFactory()
    made = Chat.objects.bulk_create(
        Chat(organization=org, kind="custom", platform="epos", title=f"Переписка {i:02d}")
        for i in range(n)
    )
    ChatMember.objects.bulk_create(
        ChatMember(chat=c, person=p) for c in made for p in (person, other)
    )
    Message.objects.bulk_create(Message(chat=c, author=other, text="Вопрос") for c in made)


@pytest.mark.parametrize("n", [3, EPOS_CHATS_SHOWN + 1])
def test_the_menus_unread_epos_total_counts_every_conversation(client, org, admin, n):
    _conversations(org, admin, n)
    response = get(client, admin)
    assert len(response.context["epos_chats"]) == min(n, EPOS_CHATS_SHOWN)
    assert f'aria-label="Непрочитанных сообщений ЭПОС: {n}"' in response.text


def test_the_menus_unread_epos_total_costs_no_query_while_the_block_lists_every_conversation(
    client, org, admin
):
    _conversations(org, admin, EPOS_CHATS_SHOWN)
    client.force_login(admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as all_listed:
        client.get(URL)
    _conversations(org, admin, 1)
    with CaptureQueriesContext(connection) as one_more:
        client.get(URL)
    # One more conversation than the block shows: the total needs a query of its own.
    assert len(one_more) == len(all_listed) + 1


def test_each_card_says_where_the_chat_stands_in_the_messenger(client, org, admin):
    import datetime as dt

    from django.utils import timezone

    from vk_sync.models import RemoteChat

    synced, failed = chat(org, "Синхронный"), chat(org, "Сломанный")
    chat(org, "Новый")
    later = timezone.now() + dt.timedelta(minutes=1)
    RemoteChat.objects.create(
        chat=synced, remote_chat_id=1, title=synced.title, synced_version=later
    )
    RemoteChat.objects.create(
        chat=failed, remote_chat_id=2, title="x", last_error="[927] Chat does not exist"
    )
    page = get(client, admin).text
    for title, label in (
        ("Синхронный", "синхронизирован"),
        ("Новый", "ожидает отправки"),
        ("Сломанный", "ошибка"),
    ):
        card = page[page.index(f">{title}<") :]
        card = card[: card.index("</li>")]
        assert label in card, title
    # The OO admin sees why; the chat's link leads into the messenger's chat.
    assert "[927] Chat does not exist" in page
    assert f"/convo/{2_000_000_000 + 1}" in page

"""The participant picker through HTTP (F15, F17): tabs, filters, FIO search, paging that keeps
the state, ticks with and without JavaScript, «Выбрать всех» across pages, «Выбранные», the
«Администратор чата» tick, and a bounded number of queries."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from directory.models import Student
from epos_chats import picker
from epos_chats.picker import NO_DISCIPLINE
from tests import factories

pytestmark = pytest.mark.django_db

CUSTOM = reverse("epos_chats:create_custom")
HTMX = {"HX-Request": "true"}


def named(last, first="Олег", middle="Олегович"):
    return factories.PersonFactory(last_name=last, first_name=first, middle_name=middle)


def visible(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


class College:
    """Staff with and without a discipline, two groups of two courses, students, parents."""

    def __init__(self):
        self.org = org = factories.OrganizationFactory(short_name="ПК № 7")
        self.admin = factories.StaffMemberFactory(
            organization=org, is_admin=True, person=named("Админова", "Ольга")
        )
        factories.VkLinkFactory(person=self.admin.person)
        self.math_teacher = factories.StaffMemberFactory(
            organization=org, person=named("Петрова", "Анна")
        )
        self.librarian = factories.StaffMemberFactory(organization=org, person=named("Орлова"))
        self.is21 = factories.GroupFactory(organization=org, name="ИС-21", course=2)
        self.tm11 = factories.GroupFactory(organization=org, name="ТМ-11", course=1)
        self.ivanov = factories.StudentFactory(
            organization=org, group=self.is21, person=named("Иванов", "Кирилл", "Андреевич")
        )
        self.smirnova = factories.StudentFactory(
            organization=org, group=self.is21, person=named("Смирнова")
        )
        self.kuznetsov = factories.StudentFactory(
            organization=org, group=self.tm11, person=named("Кузнецов")
        )
        self.ivanova = factories.GuardianFactory(
            organization=org, children=[self.ivanov], person=named("Иванова")
        )
        self.math = factories.DisciplineFactory(organization=org, name="Математика")
        factories.TeachingFactory(
            organization=org, group=self.is21, discipline=self.math, teachers=[self.math_teacher]
        )


@pytest.fixture
def college():
    return College()


@pytest.fixture
def draft(client, college):
    client.force_login(college.admin.person)
    location = client.get(CUSTOM)["Location"]
    return picker.draft_of(
        owner=college.admin.person,
        organization=college.org,
        draft_id=int(location.split("draft=")[1]),
    )


def picker_html(response):
    return response.content.decode().split('<div id="picker" class="picker">', 1)[1]


def names(response):
    return [person.last_name for person in response.context["page"].object_list]


def show(client, draft, **params):
    response = client.get(CUSTOM, {"draft": draft.pk, **params})
    assert response.status_code == 200
    return response


def change(client, draft, action, headers=None, **data):
    url = reverse("epos_chats:draft_change", args=[draft.pk])
    return client.post(url, {"action": action, **data}, headers=headers or {})


# Tabs, filters, search


def test_each_tab_lists_its_role_and_the_all_tab_everyone(client, college, draft):
    assert sorted(names(show(client, draft, tab="students"))) == ["Иванов", "Кузнецов", "Смирнова"]
    assert names(show(client, draft, tab="parents")) == ["Иванова"]
    assert sorted(names(show(client, draft, tab="staff"))) == ["Админова", "Орлова", "Петрова"]
    assert len(names(show(client, draft))) == 7


def test_filters_are_the_seeds_per_tab(client, college, draft):
    def selects(response):
        html = picker_html(response)
        return set(re.findall(r'<select name="(\w+)"', html)) | (
            {"group"} if 'id="picker-group"' in html else set()
        )

    assert selects(show(client, draft)) == {"course", "group", "discipline"}
    assert selects(show(client, draft, tab="parents")) == {"course", "group"}
    assert selects(show(client, draft, tab="students")) == {"course", "group", "discipline"}
    assert selects(show(client, draft, tab="staff")) == {"course", "group", "discipline"}
    assert selects(show(client, draft, tab="selected")) == set()


def test_without_discipline_is_offered_on_the_staff_tab_only(client, college, draft):
    assert "Без дисциплины" in show(client, draft, tab="staff").content.decode()
    assert "Без дисциплины" not in show(client, draft, tab="students").content.decode()
    staff = show(client, draft, tab="staff", discipline=NO_DISCIPLINE)
    assert sorted(names(staff)) == ["Админова", "Орлова"]


def test_course_group_and_discipline_narrow_the_list(client, college, draft):
    assert names(show(client, draft, tab="students", course=1)) == ["Кузнецов"]
    assert sorted(names(show(client, draft, tab="students", group=college.is21.pk))) == [
        "Иванов",
        "Смирнова",
    ]
    assert names(show(client, draft, tab="staff", discipline=college.math.pk)) == ["Петрова"]
    assert names(show(client, draft, tab="parents", course=2)) == ["Иванова"]


def test_the_group_select_offers_the_chosen_courses_groups(client, college, draft):
    html = show(client, draft, tab="students", course=1).content.decode()
    select = html.split('id="picker-group"', 1)[1].split("</select>", 1)[0]
    assert "ТМ-11" in select and "ИС-21" not in select


def test_a_group_of_another_course_is_dropped_not_fatal(client, college, draft):
    response = show(client, draft, tab="students", course=1, group=college.is21.pk)
    assert names(response) == ["Кузнецов"]


def test_the_chosen_group_and_discipline_stay_chosen_in_their_selects(client, college, draft):
    html = show(
        client, draft, tab="students", group=college.is21.pk, discipline=college.math.pk
    ).content.decode()
    assert f'<option value="{college.is21.pk}" selected>ИС-21</option>' in html
    assert f'<option value="{college.tm11.pk}">ТМ-11</option>' in html
    assert f'<option value="{college.math.pk}" selected>Математика</option>' in html


def test_group_and_discipline_names_are_escaped_in_the_filters(client, college, draft):
    factories.GroupFactory(organization=college.org, name='<b>"ИС"</b>', course=3)
    factories.DisciplineFactory(organization=college.org, name="<script>alert(1)</script>")
    html = show(client, draft).content.decode()
    assert "&lt;b&gt;&quot;ИС&quot;&lt;/b&gt;</option>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</option>" in html
    assert "<script>alert(1)" not in html and '<b>"ИС"' not in html


def test_search_finds_any_part_of_the_fio_in_any_case(client, college, draft):
    assert names(show(client, draft, q="иван")) == ["Иванов", "Иванова"]
    assert names(show(client, draft, q="КИРИЛЛ андр")) == ["Иванов"]
    assert "Никого не найдено" in visible(show(client, draft, q="нет-такого"))


def test_search_as_you_type_answers_the_results_and_what_follows_them(client, college, draft):
    response = client.get(
        CUSTOM,
        {"draft": draft.pk, "tab": "students", "q": "смир"},
        headers={**HTMX, "HX-Target": "picker-results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="picker-results"')
    assert "Смирнова" in visible(response) and "Иванов" not in visible(response)
    # The tabs keep the search; the filters' reset appears.
    assert (
        'id="picker-tabs" class="tabs" aria-label="Список пользователей" hx-swap-oob="true"' in html
    )
    assert "q=%D1%81%D0%BC%D0%B8%D1%80" in html
    assert 'id="picker-reset" hx-swap-oob="true"><a' in html


def test_a_tab_change_answers_the_whole_picker(client, college, draft):
    response = client.get(
        CUSTOM, {"draft": draft.pk, "tab": "parents"}, headers={**HTMX, "HX-Target": "picker"}
    )
    assert response.content.decode().lstrip().startswith('<div id="picker"')
    assert "Иванова" in visible(response) and "Смирнова" not in visible(response)


def test_malformed_params_show_the_default_list(client, college, draft):
    response = show(client, draft, tab="evil", course="9", group="x", page="-3")
    assert len(names(response)) == 7


# Paging keeps the state


def test_fifteen_rows_a_page_and_the_pager_keeps_tab_search_and_filters(client, college, draft):
    for i in range(20):
        factories.StudentFactory(
            organization=college.org, group=college.tm11, person=named(f"Тестов{i:02d}")
        )
    first = show(client, draft, tab="students", course=1, q="тест")
    assert len(names(first)) == 15
    next_url = first.context["pager"]["next_url"]
    assert (
        next_url
        == f"{CUSTOM}?draft={draft.pk}&tab=students&q=%D1%82%D0%B5%D1%81%D1%82&course=1&page=2"
    )
    second = client.get(next_url)
    assert names(second) == [f"Тестов{i:02d}" for i in range(15, 20)]


def test_a_page_past_the_end_shows_the_last_page_with_its_count(client, college, draft):
    for i in range(20):
        factories.StudentFactory(
            organization=college.org, group=college.tm11, person=named(f"Тестов{i:02d}")
        )
    for params in ({"q": "тест"}, {"tab": "students", "course": 1}):
        # 10**30 is past any OFFSET PostgreSQL can hold: still the last page, not a 500.
        for page in (99, 10**30):
            response = show(client, draft, page=page, **params)
            assert response.context["page"].number == 2
            assert "страница 2 из 2" in visible(response)
    assert "Найдено: 20 по запросу «тест»" in visible(show(client, draft, q="тест"))
    assert "Найдено: 21" in visible(show(client, draft, tab="students", course=1))


def test_the_selected_tab_counts_the_draft_as_the_page_opens(client, college, draft):
    picker.draft_set_admin(draft, college.ivanov.person_id, is_admin=True)
    picker.draft_select(draft, college.ivanova.person_id, selected=True)
    response = show(client, draft)
    assert "Выбранные (2)" in visible(response)
    assert "Выбрано участников: 2 , из них администраторов чата: 1" in visible(response)
    assert "Выбрано: 2" in visible(show(client, draft, tab="selected"))


def test_tabs_keep_the_search_and_the_filters_they_offer(client, college, draft):
    response = show(client, draft, tab="students", q="ов", course=2, discipline=college.math.pk)
    tabs = {tab["key"]: tab["url"] for tab in response.context["tabs"]}
    assert tabs["parents"] == f"{CUSTOM}?draft={draft.pk}&tab=parents&q=%D0%BE%D0%B2&course=2"
    assert "discipline" in tabs["staff"]


# Ticks


def test_a_tick_with_htmx_answers_its_row_and_the_counts(client, college, draft):
    person = college.smirnova.person_id
    response = change(
        client, draft, "select", headers=HTMX, person=person, selected=[person], shown=[person]
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="pick-{person}" class="pick is-selected">')
    assert '<span id="picker-tab-count" class="tabs__count" hx-swap-oob="true">(1)</span>' in html
    assert 'id="picker-summary"' in html and "Выбрано участников: <strong>1</strong>" in html
    assert picker.draft_members(draft) == {person: False}

    response = change(client, draft, "select", headers=HTMX, person=person, shown=[person])
    assert picker.draft_members(draft) == {}
    assert "(0)" in response.content.decode()


def test_the_admin_tick_selects_the_person_too(client, college, draft):
    person = college.ivanova.person_id
    html = change(
        client, draft, "admin", headers=HTMX, person=person, admin=[person]
    ).content.decode()
    assert picker.draft_members(draft) == {person: True}
    assert f'id="pick-{person}-admin" name="admin" value="{person}" checked' in html
    assert "из них администраторов чата: <strong>1</strong>" in html
    change(client, draft, "admin", headers=HTMX, person=person)
    assert picker.draft_members(draft) == {person: False}


def test_a_person_of_another_college_cannot_be_ticked(client, college, draft):
    stranger = factories.StudentFactory().person_id
    response = change(client, draft, "select", headers=HTMX, person=stranger, selected=[stranger])
    assert response.status_code == 400
    assert picker.draft_members(draft) == {}
    response = change(client, draft, "select", person=stranger, selected=[stranger])
    assert response.status_code == 302
    assert "Выбрать можно только сотрудников" in visible(client.get(response["Location"]))


def test_without_javascript_the_pages_ticks_come_at_once_and_the_list_stays_put(
    client, college, draft
):
    ivanov, smirnova = college.ivanov.person_id, college.smirnova.person_id
    picker.draft_select(draft, smirnova, selected=True)
    response = change(
        client,
        draft,
        "apply",
        tab="students",
        group=college.is21.pk,
        page="1",
        shown=[ivanov, smirnova],
        selected=[ivanov],
        admin=[ivanov],
    )
    assert picker.draft_members(draft) == {ivanov: True}
    assert response.status_code == 302
    assert response["Location"] == f"{CUSTOM}?draft={draft.pk}&tab=students&group={college.is21.pk}"


def test_select_all_takes_everyone_matching_across_pages_and_selected_lists_them(
    client, college, draft
):
    for i in range(40):
        factories.StudentFactory(
            organization=college.org, group=college.tm11, person=named(f"Тестов{i:02d}")
        )
    response = change(client, draft, "select_all", headers=HTMX, tab="students", course=1)
    assert "Отмечены все найденные: 41." in response.content.decode()
    assert len(picker.draft_members(draft)) == 41

    selected = show(client, draft, tab="selected")
    assert selected.context["page"].paginator.count == 41
    assert "Выбранные (41)" in visible(selected)
    assert len(names(selected)) == 15
    assert all(person.selected for person in selected.context["page"].object_list)


def test_unselect_all_takes_off_only_what_matches(client, college, draft):
    change(client, draft, "select_all")
    assert len(picker.draft_members(draft)) == 7
    change(client, draft, "unselect_all", tab="students")
    assert sorted(picker.draft_members(draft)) == sorted(
        p.person_id
        for p in (college.admin, college.math_teacher, college.librarian, college.ivanova)
    )


def test_the_selected_tab_edits_the_selection_with_the_same_controls(client, college, draft):
    picker.draft_select(draft, college.ivanov.person_id, selected=True)
    html = picker_html(show(client, draft, tab="selected"))
    assert f'id="pick-{college.ivanov.person_id}-on" name="selected"' in html
    assert 'name="admin"' in html
    assert "Выбрать всех" not in html and "Снять всех" in html


def test_the_selection_survives_paging_tabs_and_filters(client, college, draft):
    person = college.kuznetsov.person_id
    change(client, draft, "select", headers=HTMX, person=person, selected=[person])
    show(client, draft, tab="parents")
    show(client, draft, tab="students", course=2)
    row = next(
        p for p in show(client, draft, tab="students").context["page"].object_list if p.pk == person
    )
    assert row.selected


def test_someone_elses_draft_cannot_be_changed(client, college, draft):
    other = factories.StaffMemberFactory(organization=college.org, is_admin=True).person
    client.force_login(other)
    person = college.ivanov.person_id
    assert change(client, draft, "select", person=person, selected=[person]).status_code == 404
    assert picker.draft_members(draft) == {}


def test_a_tick_is_post_only(client, college, draft):
    url = reverse("epos_chats:draft_change", args=[draft.pk])
    assert client.get(url, {"action": "select_all"}).status_code == 405
    assert picker.draft_members(draft) == {}


def test_an_unknown_action_is_refused(client, college, draft):
    assert change(client, draft, "drop_table").status_code == 400


# Queries


@pytest.mark.parametrize("students", [15, 300])
def test_the_picker_page_costs_the_same_queries_however_many_candidates(
    client, college, draft, students, django_assert_max_num_queries
):
    people = factories.PersonFactory.create_batch(students)
    Student.objects.bulk_create(
        Student(
            organization=college.org,
            group=college.tm11,
            person=person,
            external_id=f"x-{person.pk}",
        )
        for person in people
    )
    for person in people[:40]:
        picker.draft_select(draft, person.pk, selected=True)
    show(client, draft)
    # Session, person, organization, roles (3), the VK ID link, the draft with its counts,
    # the filters (2), the page with its count (a search) or the count and the page, the
    # calls mark and the unread ЭПОС total (F30).
    with django_assert_max_num_queries(13):
        response = show(client, draft, tab="students", q="а")
    assert response.status_code == 200
    with django_assert_max_num_queries(14):
        show(client, draft, tab="students", course=1, page=2)
    with django_assert_max_num_queries(14):
        show(client, draft, tab="selected")


def test_an_abandoned_draft_goes_when_its_owner_opens_the_next_one(client, college):
    owner = college.admin.person
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)):
        old = picker.draft_open(owner=owner, organization=college.org)
        picker.draft_select(old, college.ivanov.person_id, selected=True)
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)):
        fresh = picker.draft_open(owner=owner, organization=college.org)
    assert picker.draft_of(owner=owner, organization=college.org, draft_id=old.pk) is None
    assert picker.draft_of(owner=owner, organization=college.org, draft_id=fresh.pk) == fresh

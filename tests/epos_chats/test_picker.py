"""F15: the participant picker's tabs, filters, FIO search and the draft selection."""

import pytest

from epos_chats import picker
from epos_chats.picker import NO_DISCIPLINE, PickerQuery
from tests import factories

pytestmark = pytest.mark.django_db


def named(last, first="Олег", middle="Олегович"):
    """Faker's random names could match a search term; these never do by accident."""
    return factories.PersonFactory(last_name=last, first_name=first, middle_name=middle)


class College:
    def __init__(self):
        self.org = org = factories.OrganizationFactory()
        self.math_teacher = factories.StaffMemberFactory(
            organization=org, person=named("Петрова", "Анна")
        )
        self.curator = factories.StaffMemberFactory(organization=org, person=named("Сидоров"))
        self.librarian = factories.StaffMemberFactory(organization=org, person=named("Орлова"))
        self.is21 = factories.GroupFactory(organization=org, course=2, curators=[self.curator])
        self.tm11 = factories.GroupFactory(organization=org, course=1)
        self.ivanov = factories.StudentFactory(
            organization=org,
            group=self.is21,
            person=named("Иванов", "Кирилл", "Андреевич"),
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
        self.kuznetsova = factories.GuardianFactory(
            organization=org, children=[self.kuznetsov], person=named("Кузнецова")
        )
        self.math = factories.DisciplineFactory(organization=org, name="Математика")
        self.english = factories.DisciplineFactory(organization=org, name="Английский язык")
        factories.TeachingFactory(
            organization=org, group=self.is21, discipline=self.math, teachers=[self.math_teacher]
        )
        # English for IS-21 is taught in a subgroup: only Smirnova attends.
        factories.TeachingFactory(
            organization=org,
            group=self.is21,
            discipline=self.english,
            teachers=[self.curator],
            students=[self.smirnova],
        )

    def names(self, **params):
        query = PickerQuery.from_params(params)
        return [p.last_name for p in picker.candidates(self.org, query)]


def test_the_all_tab_offers_every_person_of_the_college_once():
    college = College()
    other = factories.StudentFactory()  # another college
    names = college.names(tab="all")
    assert sorted(names) == sorted(
        ["Петрова", "Сидоров", "Орлова", "Иванов", "Смирнова", "Кузнецов", "Иванова", "Кузнецова"]
    )
    assert other.person.last_name not in names or names.count(other.person.last_name) <= 1


def test_tabs_offer_their_role_only():
    college = College()
    assert sorted(college.names(tab="students")) == ["Иванов", "Кузнецов", "Смирнова"]
    assert sorted(college.names(tab="parents")) == ["Иванова", "Кузнецова"]
    assert sorted(college.names(tab="staff")) == ["Орлова", "Петрова", "Сидоров"]


def test_students_filter_by_course_group_and_discipline_with_subgroups():
    college = College()
    assert college.names(tab="students", course=1) == ["Кузнецов"]
    assert sorted(college.names(tab="students", group=college.is21.pk)) == ["Иванов", "Смирнова"]
    assert sorted(college.names(tab="students", discipline=college.math.pk)) == [
        "Иванов",
        "Смирнова",
    ]
    assert college.names(tab="students", discipline=college.english.pk) == ["Смирнова"]


def test_parents_filter_by_their_childrens_course_and_group_and_have_no_discipline_filter():
    college = College()
    assert college.names(tab="parents", course=2) == ["Иванова"]
    assert college.names(tab="parents", group=college.tm11.pk) == ["Кузнецова"]
    assert sorted(college.names(tab="parents", discipline=college.english.pk)) == [
        "Иванова",
        "Кузнецова",
    ]


def test_staff_filter_by_discipline_and_without_discipline():
    college = College()
    assert college.names(tab="staff", discipline=college.math.pk) == ["Петрова"]
    assert college.names(tab="staff", discipline=NO_DISCIPLINE) == ["Орлова"]


def test_staff_filter_by_group_includes_its_teachers_and_curators():
    college = College()
    assert sorted(college.names(tab="staff", group=college.is21.pk)) == ["Петрова", "Сидоров"]
    assert college.names(tab="staff", course=1) == []


def test_without_discipline_is_offered_to_staff_only():
    assert (
        PickerQuery.from_params({"tab": "students", "discipline": NO_DISCIPLINE}).discipline is None
    )


def test_search_finds_any_part_of_the_fio_in_any_case():
    college = College()
    assert college.names(tab="all", q="иван") == ["Иванов", "Иванова"]
    assert college.names(tab="all", q="КИРИЛЛ андр") == ["Иванов"]
    assert college.names(tab="all", q="ндреевич") == ["Иванов"]
    assert college.names(tab="all", q="нет-такого") == []


def test_a_search_too_short_for_the_trigram_index_finds_any_part_too():
    college = College()
    factories.StudentFactory(person=named("Иванько"))  # another college
    assert college.names(tab="all", q="ив") == ["Иванов", "Иванова"]
    assert college.names(tab="students", q="в") == ["Иванов", "Кузнецов", "Смирнова"]
    assert college.names(tab="parents", q="ва", course=2) == ["Иванова"]
    assert college.names(tab="all", q="ан ки") == ["Иванов"]
    assert college.names(tab="staff", q="ов") == ["Орлова", "Петрова", "Сидоров"]


def test_malformed_params_are_ignored_not_fatal():
    query = PickerQuery.from_params({"tab": "evil", "course": "9", "group": "x", "q": "a" * 500})
    assert query == PickerQuery(tab="all", q="a" * 100)


def test_inactive_people_are_not_offered():
    college = College()
    college.kuznetsov.is_active = False
    college.kuznetsov.save()
    assert "Кузнецов" not in college.names(tab="students")


def test_select_all_takes_everyone_matching_across_pages_and_survives_tab_changes():
    college = College()
    for _ in range(40):
        factories.StudentFactory(organization=college.org, group=college.tm11)
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    added = picker.draft_select_all(draft, PickerQuery(tab="students", course=1))
    assert added == 41
    picker.draft_select(draft, college.ivanova.person_id, selected=True)
    selected = picker.candidates(college.org, PickerQuery(tab="selected"), draft)
    assert selected.count() == 42
    picker.draft_unselect_all(draft, PickerQuery(tab="students"))
    assert list(picker.draft_members(draft)) == [college.ivanova.person_id]


def test_marking_an_admin_selects_the_person():
    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    assert picker.draft_set_admin(draft, college.smirnova.person_id, is_admin=True)
    assert picker.draft_members(draft) == {college.smirnova.person_id: True}
    assert picker.draft_counts(draft) == (1, 1)


def test_a_person_of_another_college_cannot_be_ticked():
    college = College()
    stranger = factories.StudentFactory()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    assert picker.draft_select(draft, stranger.person_id, selected=True) is False
    assert picker.draft_members(draft) == {}


def test_a_draft_of_a_chat_starts_from_its_members():
    college = College()
    chat = factories.ChatFactory(organization=college.org)
    factories.ChatMemberFactory(chat=chat, person=college.curator.person, is_admin=True)
    draft = picker.draft_open(owner=college.curator.person, organization=college.org, chat=chat)
    assert picker.draft_members(draft) == {college.curator.person_id: True}


def test_someone_elses_draft_is_not_found():
    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    assert (
        picker.draft_of(owner=college.librarian.person, organization=college.org, draft_id=draft.pk)
        is None
    )
    assert (
        picker.draft_of(owner=college.curator.person, organization=college.org, draft_id="x")
        is None
    )


# Pages and counts


def cases(college):
    """Every tab with the filters it offers, alone and together."""
    yield from ({"tab": tab} for tab in ("all", "students", "parents", "staff"))
    for tab in ("all", "students", "parents", "staff"):
        yield {"tab": tab, "course": 2}
        yield {"tab": tab, "group": college.is21.pk}
        yield {"tab": tab, "course": 1, "group": college.tm11.pk}
    for tab in ("all", "students", "staff"):
        yield {"tab": tab, "discipline": college.english.pk}
    yield {"tab": "staff", "discipline": NO_DISCIPLINE}


def test_the_count_without_a_search_is_the_number_of_people_the_tab_offers():
    college = College()
    # One person, two roles: the curator is also Kuznetsov's parent; «Все» counts them once.
    factories.GuardianFactory(
        organization=college.org, person=college.curator.person, children=[college.kuznetsov]
    )
    factories.StudentFactory(organization=college.org, group=college.tm11, is_active=False)
    factories.StudentFactory(group=factories.GroupFactory(course=2))  # another college
    for params in cases(college):
        query = PickerQuery.from_params(params)
        expected = len(set(picker.candidates(college.org, query)))
        assert picker.count_of(college.org, query, None) == expected, params
    assert picker.count_of(college.org, PickerQuery(tab="all"), None) == 8


def test_the_selected_tab_counts_the_drafts_people():
    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    assert picker.count_of(college.org, PickerQuery(tab="selected"), draft) == 0
    picker.draft_select_all(draft, PickerQuery(tab="students"))
    assert picker.count_of(college.org, PickerQuery(tab="selected"), draft) == 3
    assert picker.count_of(college.org, PickerQuery(tab="selected", q="смир"), draft) == 1


def test_a_search_page_carries_the_exact_count_of_everything_found():
    college = College()
    for i in range(20):
        factories.StudentFactory(
            organization=college.org, group=college.tm11, person=named(f"Тестов{i:02d}")
        )
    first = picker.page_of(college.org, PickerQuery(q="тест"), None, 1)
    assert first.paginator.count == 20 and first.paginator.num_pages == 2
    assert [p.last_name for p in first.object_list] == [f"Тестов{i:02d}" for i in range(15)]
    second = picker.page_of(college.org, PickerQuery(q="тест"), None, "2")
    assert [p.last_name for p in second.object_list] == [f"Тестов{i:02d}" for i in range(15, 20)]
    nothing = picker.page_of(college.org, PickerQuery(q="нет-такого"), None, 1)
    assert nothing.paginator.count == 0 and list(nothing.object_list) == []


def test_a_page_past_the_end_or_malformed_is_the_nearest_real_page():
    college = College()
    for i in range(20):
        factories.StudentFactory(
            organization=college.org, group=college.tm11, person=named(f"Тестов{i:02d}")
        )
    # 20 found by the search; 21 in course 1 (with Kuznetsov): the last page has 5 or 6 rows.
    for query, last_rows in (
        (PickerQuery(q="тест"), 5),
        (PickerQuery(tab="students", course=1), 6),
    ):
        last = picker.page_of(college.org, query, None, 99)
        assert (last.number, len(last.object_list)) == (2, last_rows)
        assert picker.page_of(college.org, query, None, "x").number == 1
        assert picker.page_of(college.org, query, None, -3).number == 1


def test_a_rows_role_and_ticks_come_with_the_page():
    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    picker.draft_set_admin(draft, college.ivanov.person_id, is_admin=True)
    picker.draft_select(draft, college.ivanova.person_id, selected=True)
    rows = {p.last_name: p for p in picker.page_of(college.org, PickerQuery(q="иван"), draft, 1)}
    assert (rows["Иванов"].student_group, rows["Иванов"].is_parent) == (college.is21.name, False)
    assert (rows["Иванов"].selected, rows["Иванов"].selected_admin) == (True, True)
    assert (rows["Иванова"].is_parent, rows["Иванова"].student_group) == (True, None)
    assert (rows["Иванова"].selected, rows["Иванова"].selected_admin) == (True, False)
    staff = picker.page_of(college.org, PickerQuery(tab="staff", q="орлов"), draft, 1)
    assert staff.object_list[0].staff_position == college.librarian.position
    assert not staff.object_list[0].selected


@pytest.mark.parametrize("extra", [10, 60])
@pytest.mark.parametrize("q", ["", "ов"])
def test_a_page_of_candidates_is_a_bounded_number_of_queries(extra, q, django_assert_num_queries):
    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    for i in range(extra):
        factories.StudentFactory(
            organization=college.org, group=college.is21, person=named(f"Тестов{i:02d}")
        )
    picker.draft_select_all(draft, PickerQuery(tab="students"))
    query = PickerQuery(tab="students", q=q, group=college.is21.pk)
    # The page brings its count along: a window with a search, the role tables without one.
    with django_assert_num_queries(1):
        page = picker.page_of(college.org, query, draft, 1)
        rows = list(page.object_list)
    assert page.paginator.count == extra + 2
    assert len(rows) == min(15, extra + 2) and all(r.selected for r in rows)


def test_filter_options_are_the_colleges_active_groups_by_course_and_its_disciplines():
    college = College()
    factories.GroupFactory(organization=college.org, course=3, is_active=False)
    factories.GroupFactory(course=4)  # another college
    options = picker.filter_options(college.org)
    assert options.courses == [1, 2]
    assert [g.pk for g in options.groups] == [college.tm11.pk, college.is21.pk]
    assert [g.name for g in options.groups_of(2)] == [college.is21.name]
    assert [d.name for d in options.disciplines] == ["Английский язык", "Математика"]


def page_plan(college, query, **settings) -> str:
    """EXPLAIN of the one query of the picker's page, with planner `settings` applied."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        picker.page_of(college.org, query, None, 1)
    (page,) = queries.captured_queries
    with connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute(f"SET LOCAL {name} = {value}")
        cursor.execute("EXPLAIN " + page["sql"])
        return " ".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_fio_search_can_use_the_trigram_index_of_the_colleges_people_on_postgresql():
    from django.db import connection

    with connection.cursor() as cursor:
        # An empty table: only a scan that takes the pattern as its condition is left.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        cursor.execute(
            "EXPLAIN SELECT person_id FROM directory_collegeperson WHERE fio_search LIKE %s",
            ["%ИВАН%"],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "directory_collegeperson_fio_search_trgm" in plan


@pytest.mark.postgres
def test_the_list_without_a_search_can_walk_the_colleges_fio_order_on_postgresql():
    college = College()
    plan = page_plan(college, PickerQuery(tab="all"), enable_sort="off")
    assert "collegeperson_fio_order" in plan

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


def test_a_page_of_candidates_is_a_bounded_number_of_queries(django_assert_max_num_queries):
    from django.core.paginator import Paginator

    college = College()
    draft = picker.draft_open(owner=college.curator.person, organization=college.org)
    for _ in range(60):
        factories.StudentFactory(organization=college.org, group=college.is21)
    query = PickerQuery(tab="all", q="", group=college.is21.pk)
    with django_assert_max_num_queries(2):
        people = picker.annotate_rows(
            picker.candidates(college.org, query, draft), college.org, draft
        )
        page = Paginator(people, picker.PAGE_SIZE).page(2)
        rows = list(page.object_list)
    assert len(rows) == 15 and all(hasattr(r, "selected") for r in rows)


@pytest.mark.postgres
def test_fio_search_uses_the_trigram_index_on_postgresql():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM directory_person WHERE fio_search LIKE %s", ["%ИВАН%"]
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "directory_person_fio_search_trgm" in plan

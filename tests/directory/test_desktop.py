import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory import selectors
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return factories.OrganizationFactory(
        short_name="ПК № 7", name="ГБПОУ «Политехнический колледж № 7»"
    )


@pytest.fixture
def today(org):
    return selectors.today_in(org)


def desktop(client, person):
    client.force_login(person)
    response = client.get(reverse("desktop"))
    assert response.status_code == 200
    return response


def widgets(response):
    return response.context["desktop"]


def lesson(teaching, day, start, end=None):
    end = end or (dt.datetime.combine(day, start) + dt.timedelta(minutes=90)).time()
    return factories.LessonFactory(teaching=teaching, date=day, start=start, end=end)


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("desktop"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_layout_has_the_menu_and_serves_htmx_itself_with_csrf(client, org):
    response = desktop(client, factories.StaffMemberFactory(organization=org).person)
    assert 'aria-current="page"' in response.text
    assert "Рабочий стол</span>" in response.text
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in response.text
    assert 'hx-headers=\'{"X-CSRFToken": "' in response.text
    # Colleges run it in closed networks: nothing may come from elsewhere.
    assert 'src="http' not in response.text and 'href="http' not in response.text


def test_an_unknown_page_is_explained_in_russian(client, org):
    client.force_login(factories.StaffMemberFactory(organization=org).person)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text


def test_a_teacher_sees_only_their_own_active_lessons_of_today(client, org, today):
    teacher = factories.StaffMemberFactory(organization=org)
    colleague = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org, name="ИС-21")
    math = factories.TeachingFactory(group=group, discipline__name="Математика", teachers=[teacher])
    late = lesson(math, today, dt.time(12, 0))
    early = lesson(math, today, dt.time(8, 30))
    lesson(math, today + dt.timedelta(days=1), dt.time(8, 30))
    factories.LessonFactory(
        teaching=math, date=today, start=dt.time(14, 0), end=dt.time(15, 30), is_active=False
    )
    foreign = factories.TeachingFactory(group=group, teachers=[colleague])
    lesson(foreign, today, dt.time(10, 10))
    dropped = factories.TeachingFactory(group=group, teachers=[teacher], is_active=False)
    lesson(dropped, today, dt.time(16, 0))

    response = desktop(client, teacher.person)

    assert widgets(response).lessons_taught == [early, late]
    assert "Расписание на сегодня" in response.text
    assert "08:30–10:00" in response.text
    assert "ИС-21" in response.text
    assert "Математика" in response.text


def test_a_teacher_without_lessons_today_is_told_so(client, org):
    teacher = factories.StaffMemberFactory(organization=org)
    response = desktop(client, teacher.person)
    assert widgets(response).lessons_taught == []
    assert "Сегодня занятий нет." in response.text


def test_on_a_day_without_lessons_a_teacher_is_shown_the_next_one(client, org, today):
    teacher = factories.StaffMemberFactory(organization=org)
    teaching = factories.TeachingFactory(
        group__organization=org, group__name="ИС-31", discipline__name="Физика", teachers=[teacher]
    )
    lesson(teaching, today + dt.timedelta(days=3), dt.time(11, 50))
    lesson(teaching, today + dt.timedelta(days=2), dt.time(13, 30))
    lesson(teaching, today - dt.timedelta(days=1), dt.time(8, 30))

    response = desktop(client, teacher.person)

    assert widgets(response).next_lesson_taught.date == today + dt.timedelta(days=2)
    assert "Сегодня занятий нет." in response.text
    assert "13:30</strong> — Физика, ИС-31" in " ".join(response.text.split())


def test_the_next_lesson_is_looked_for_two_weeks_ahead_only(client, org, today):
    teacher = factories.StaffMemberFactory(organization=org)
    teaching = factories.TeachingFactory(group__organization=org, teachers=[teacher])
    lesson(teaching, today + selectors.LOOK_AHEAD + dt.timedelta(days=1), dt.time(9, 0))

    assert widgets(desktop(client, teacher.person)).next_lesson_taught is None


def test_a_subgroup_lesson_is_marked_for_its_teacher(client, org, today):
    teacher = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org)
    subgroup = [factories.StudentFactory(group=group)]
    lesson(
        factories.TeachingFactory(group=group, teachers=[teacher], students=subgroup),
        today,
        dt.time(9, 0),
    )
    response = desktop(client, teacher.person)
    assert '<span class="badge">подгруппа</span>' in response.text


def test_today_is_the_colleges_day_not_the_servers(client):
    vladivostok = factories.OrganizationFactory(time_zone="Asia/Vladivostok")
    teacher = factories.StaffMemberFactory(organization=vladivostok)
    teaching = factories.TeachingFactory(group__organization=vladivostok, teachers=[teacher])
    monday, tuesday = dt.date(2026, 3, 9), dt.date(2026, 3, 10)
    on_monday = lesson(teaching, monday, dt.time(9, 0))
    on_tuesday = lesson(teaching, tuesday, dt.time(9, 0))

    # 21:00 UTC on Monday is Monday in Moscow and already 07:00 on Tuesday in Vladivostok.
    with time_machine.travel(dt.datetime(2026, 3, 9, 21, 0, tzinfo=dt.UTC), tick=False):
        response = desktop(client, teacher.person)

    assert widgets(response).today == tuesday
    assert widgets(response).lessons_taught == [on_tuesday]
    assert on_monday not in widgets(response).lessons_taught


def test_a_curator_sees_their_groups_with_active_students(client, org):
    curator = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org, name="ТМ-31", course=3, curators=[curator])
    factories.StudentFactory.create_batch(2, group=group)
    factories.StudentFactory(group=group, is_active=False)
    factories.GroupFactory(organization=org, name="Чужая")
    factories.GroupFactory(
        organization=org, name="Расформирована", is_active=False, curators=[curator]
    )

    response = desktop(client, curator.person)

    assert [(g.name, g.student_count) for g in widgets(response).curated_groups] == [("ТМ-31", 2)]
    assert "Кураторство" in response.text
    assert "3 курс · обучающихся: 2" in response.text


def test_an_oo_admin_sees_the_college_in_numbers(client, org):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True)
    factories.StaffMemberFactory(organization=org)
    factories.StaffMemberFactory(organization=org, is_active=False)
    curated = factories.GroupFactory(organization=org, name="ИС-11", curators=[admin])
    lonely = factories.GroupFactory(organization=org, name="ИС-12")
    left_behind = factories.GroupFactory(organization=org, name="ИС-13")
    gone = factories.StaffMemberFactory(organization=org, is_active=False)
    left_behind.curators.set([gone])  # a curator who left does not count
    factories.GroupFactory(organization=org, is_active=False)
    students = factories.StudentFactory.create_batch(3, group=curated)
    factories.StudentFactory(group=lonely)
    factories.StudentFactory(group=lonely, is_active=False)
    factories.GuardianFactory(organization=org, children=students[:2])
    factories.StaffMemberFactory()  # another college entirely

    response = desktop(client, admin.person)

    assert widgets(response).summary == selectors.CollegeSummary(
        staff=2, students=4, guardians=1, groups=3, groups_without_curator=2
    )
    assert [g.name for g in widgets(response).uncurated_groups] == ["ИС-12", "ИС-13"]
    assert "Группы без куратора" in response.text
    assert "<strong>ИС-12</strong>, <strong>ИС-13</strong>." in response.text


def test_a_college_summary_names_only_the_first_groups_without_a_curator(client, org):
    admin = factories.StaffMemberFactory(organization=org, is_admin=True)
    extra = 3
    factories.GroupFactory.create_batch(selectors.UNCURATED_GROUPS_SHOWN + extra, organization=org)
    response = desktop(client, admin.person)
    assert len(widgets(response).uncurated_groups) == selectors.UNCURATED_GROUPS_SHOWN
    assert (
        widgets(response).summary.groups_without_curator == selectors.UNCURATED_GROUPS_SHOWN + extra
    )
    assert " и другие." in response.text


def test_a_teacher_who_is_not_an_admin_sees_no_college_summary(client, org):
    teacher = factories.StaffMemberFactory(organization=org)
    response = desktop(client, teacher.person)
    assert widgets(response).summary is None
    assert "Группы без куратора" not in response.text


@pytest.fixture
def group_with_subgroups(org, today):
    """Group ИС-21 has a whole-group lecture and an English class split into two subgroups."""
    group = factories.GroupFactory(organization=org, name="ИС-21", course=2)
    anna, boris, vera = factories.StudentFactory.create_batch(3, group=group)
    teacher = factories.StaffMemberFactory(
        organization=org,
        person__last_name="Петров",
        person__first_name="Олег",
        person__middle_name="Ильич",
    )
    whole = factories.TeachingFactory(group=group, discipline__name="История", teachers=[teacher])
    english_1 = factories.TeachingFactory(
        group=group, discipline__name="Английский язык", students=[anna, boris]
    )
    english_2 = factories.TeachingFactory(
        group=group, discipline__name="Английский язык", students=[vera]
    )
    return {
        "students": (anna, boris, vera),
        "history": lesson(whole, today, dt.time(8, 30)),
        "english_1": lesson(english_1, today, dt.time(10, 10)),
        "english_2": lesson(english_2, today, dt.time(10, 10)),
    }


def test_a_student_sees_whole_group_lessons_and_only_their_own_subgroup(
    client, group_with_subgroups
):
    anna, _, vera = group_with_subgroups["students"]

    anna_sees = widgets(desktop(client, anna.person)).lessons_attended
    vera_sees = widgets(desktop(client, vera.person)).lessons_attended

    assert anna_sees == [group_with_subgroups["history"], group_with_subgroups["english_1"]]
    assert vera_sees == [group_with_subgroups["history"], group_with_subgroups["english_2"]]


def test_a_students_next_lesson_respects_subgroups_too(client, org, today):
    group = factories.GroupFactory(organization=org)
    anna, vera = factories.StudentFactory.create_batch(2, group=group)
    tomorrow = today + dt.timedelta(days=1)
    lesson(factories.TeachingFactory(group=group, students=[vera]), tomorrow, dt.time(8, 30))
    for_anna = lesson(
        factories.TeachingFactory(group=group, students=[anna]), tomorrow, dt.time(10, 10)
    )

    assert widgets(desktop(client, anna.person)).next_lesson_attended == for_anna


def test_a_student_sees_a_subgroup_lesson_of_another_group_that_lists_them(client, org, today):
    student = factories.StudentFactory(group__organization=org)
    other_group = factories.GroupFactory(organization=org)
    stream = factories.TeachingFactory(group=other_group, students=[student])
    shared = lesson(stream, today, dt.time(13, 0))
    lesson(factories.TeachingFactory(group=other_group), today, dt.time(15, 0))

    assert widgets(desktop(client, student.person)).lessons_attended == [shared]


def test_a_student_sees_their_group_course_curator_and_teachers(client, org, group_with_subgroups):
    anna = group_with_subgroups["students"][0]
    curator = factories.StaffMemberFactory(
        organization=org,
        person__last_name="Сидорова",
        person__first_name="Анна",
        person__middle_name="",
    )
    anna.group.curators.set([curator])

    response = desktop(client, anna.person)

    assert "Моя группа" in response.text
    assert "<dt>Курс</dt><dd>2</dd>" in response.text
    assert "Сидорова А." in response.text
    assert "Петров О. И." in response.text  # the history teacher


def test_a_parent_sees_their_children_with_groups_and_curators(client, org):
    curator = factories.StaffMemberFactory(
        organization=org,
        person__last_name="Орлова",
        person__first_name="Вера",
        person__middle_name="",
    )
    group = factories.GroupFactory(organization=org, name="ЭК-41", course=4, curators=[curator])
    son = factories.StudentFactory(
        group=group,
        person__last_name="Кузнецов",
        person__first_name="Артём",
        person__middle_name="Олегович",
    )
    expelled = factories.StudentFactory(group=group, is_active=False)
    parent = factories.GuardianFactory(organization=org, children=[son, expelled])

    response = desktop(client, parent.person)

    assert widgets(response).children == [son]
    assert "Мои дети" in response.text
    assert "Кузнецов Артём Олегович" in response.text
    assert "Группа ЭК-41, 4 курс · куратор: Орлова В." in response.text


def test_a_person_with_several_roles_sees_each_widget(client, org, today):
    staff = factories.StaffMemberFactory(organization=org, is_admin=True)
    child = factories.StudentFactory(group__organization=org)
    factories.GuardianFactory(organization=org, person=staff.person, children=[child])

    response = desktop(client, staff.person)

    for title in ("Расписание на сегодня", "Колледж", "Мои дети"):
        assert title in response.text
    assert widgets(response).lessons_attended is None


def test_widgets_follow_the_current_organization(client, org):
    teacher = factories.StaffMemberFactory(organization=org)
    elsewhere = factories.GuardianFactory(
        organization__short_name="Я-колледж", person=teacher.person
    )
    elsewhere.children.set([factories.StudentFactory(group__organization=elsewhere.organization)])

    in_first = widgets(desktop(client, teacher.person))
    client.post(reverse("switch_organization"), {"organization": elsewhere.organization.pk})
    in_second = widgets(client.get(reverse("desktop")))

    assert in_first.lessons_taught == [] and in_first.children is None
    assert in_second.lessons_taught is None and len(in_second.children) == 1


def test_support_staff_without_a_college_see_an_explanation(client):
    support = factories.PersonFactory(is_staff=True)
    response = desktop(client, support)
    assert "Нет текущей организации" in response.text
    assert reverse("admin:index") in response.text


def _grow(org, person, today, n):
    """Give `person` (teacher, curator, admin, student, parent) `n` more of everything."""
    staff = person.staff_roles.get()
    student = person.student_roles.get()
    guardian = person.guardian_roles.get()
    for i in range(n):
        group = factories.GroupFactory(organization=org, curators=[staff] if i % 2 else [])
        kids = factories.StudentFactory.create_batch(2, group=group)
        guardian.children.add(*kids)
        teaching = factories.TeachingFactory(
            group=student.group if i % 2 else group,
            teachers=[staff, factories.StaffMemberFactory(organization=org)],
            students=[student] if i % 3 == 0 else [],
        )
        lesson(teaching, today, dt.time(8 + i % 10, 5 * (i // 10)))


def test_the_desktop_costs_the_same_queries_however_large_the_college(
    client, org, today, django_assert_max_num_queries
):
    staff = factories.StaffMemberFactory(organization=org, is_admin=True)
    student = factories.StudentFactory(group__organization=org, person=staff.person)
    factories.GuardianFactory(organization=org, person=staff.person)
    student.group.curators.set([staff])
    client.force_login(staff.person)
    client.get(reverse("desktop"))  # the first visit also stores the current organization

    _grow(org, staff.person, today, 2)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("desktop"))

    _grow(org, staff.person, today, 30)
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("desktop"))

    shown = widgets(response)
    assert len(shown.lessons_taught) == 32
    assert len(shown.children) == 64
    assert len(shown.curated_groups) == 17
    assert shown.lessons_attended
    # Session, person, organizations, three roles, two or three queries a widget, one for
    # «Личные сообщения», one for the new-call mark next to «Сообщения» (F27) and one for the
    # unread ЭПОС total beside it (F30).
    assert len(small) <= 18

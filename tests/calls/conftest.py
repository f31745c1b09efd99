"""One college with a chat of every kind and a person for every role in it, on a fixed
morning (helpers.NOW)."""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from tests import factories
from tests.calls.helpers import NOW, TODAY, TOMORROW, chat, person


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def college(db):
    """КПТ: an OO admin; a teacher of Информатика in ИС-11 (admin of its «Дисциплина» chat);
    the group's curator (admin of «Группа ИС-11» and of a custom chat); a student in all three;
    a staff member in no chat. Lessons of Информатика today at 08:30 (under way) and 14:00,
    and tomorrow at 08:30; of Математика tomorrow at 10:10 only. And a second college."""
    org = factories.OrganizationFactory(code="kpt", short_name="КПТ")
    admin = factories.StaffMemberFactory(
        organization=org, is_admin=True, person=person("admin", "Админова Анна Петровна")
    )
    teacher = factories.StaffMemberFactory(
        organization=org, person=person("teacher", "Учителев Иван Сергеевич")
    )
    curator = factories.StaffMemberFactory(
        organization=org, person=person("curator", "Кураторова Мария Ивановна")
    )
    outsider = factories.StaffMemberFactory(
        organization=org, person=person("outsider", "Сторонний Пётр Петрович")
    )
    group = factories.GroupFactory(organization=org, name="ИС-11", curators=[curator])
    student = factories.StudentFactory(
        group=group, person=person("student", "Студентов Олег Олегович")
    )
    informatics = factories.TeachingFactory(
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Информатика"),
        teachers=[teacher],
    )
    mathematics = factories.TeachingFactory(
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Математика"),
        teachers=[teacher],
    )
    lesson_under_way = factories.LessonFactory(
        teaching=informatics, date=TODAY, start=dt.time(8, 30), end=dt.time(10, 0)
    )
    lesson_today = factories.LessonFactory(
        teaching=informatics, date=TODAY, start=dt.time(14, 0), end=dt.time(15, 30)
    )
    lesson_tomorrow = factories.LessonFactory(
        teaching=informatics, date=TOMORROW, start=dt.time(8, 30), end=dt.time(10, 0)
    )
    maths_tomorrow = factories.LessonFactory(
        teaching=mathematics, date=TOMORROW, start=dt.time(10, 10), end=dt.time(11, 40)
    )
    discipline_chat = chat(
        org,
        "discipline",
        "Информатика ИС-11",
        teaching=informatics,
        admins=[teacher],
        members=[student],
    )
    custom_chat = chat(org, "custom", "Кружок КПТ", admins=[curator], members=[student])
    group_chat = chat(
        org, "group", "Группа ИС-11", group=group, admins=[curator], members=[student]
    )
    teachers_chat = chat(
        org, "teachers", "Преподаватели", admins=[admin], members=[teacher, curator, outsider]
    )

    other_org = factories.OrganizationFactory(code="kmt", short_name="КМТ")
    other_admin = factories.StaffMemberFactory(
        organization=other_org, is_admin=True, person=person("other", "Чужой Глеб Глебович")
    )
    other_chat = chat(other_org, "custom", "Чат КМТ", admins=[other_admin])
    return SimpleNamespace(**locals())

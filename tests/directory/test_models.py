import pytest
from django.db import IntegrityError, transaction

from tests import factories

pytestmark = pytest.mark.django_db


def test_person_fio_helpers_give_full_and_short_forms():
    person = factories.PersonFactory(
        last_name="Иванов", first_name="Кирилл", middle_name="Андреевич"
    )
    assert person.full_name == "Иванов Кирилл Андреевич"
    assert person.short_name == "Иванов К. А."


def test_person_without_middle_name_has_one_initial():
    person = factories.PersonFactory(last_name="Орлова", first_name="Вера", middle_name="")
    assert person.full_name == "Орлова Вера"
    assert person.short_name == "Орлова В."


def test_login_is_unique_across_organizations():
    factories.PersonFactory(login="petrova")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.PersonFactory._meta.model.objects.create(
            login="petrova", last_name="П", first_name="А"
        )


def test_external_id_is_unique_within_an_organization_only():
    org, other = factories.OrganizationFactory(), factories.OrganizationFactory()
    factories.GroupFactory(organization=org, external_id="g-1")
    factories.GroupFactory(organization=other, external_id="g-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.GroupFactory(organization=org, external_id="g-1")


@pytest.mark.parametrize("course", [0, 7])
def test_group_course_must_be_between_1_and_6(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.GroupFactory(course=course)


def test_a_person_holds_one_staff_role_per_organization():
    staff = factories.StaffMemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.StaffMemberFactory(organization=staff.organization, person=staff.person)


def test_a_person_may_be_staff_in_one_college_and_parent_in_another():
    staff = factories.StaffMemberFactory()
    guardian = factories.GuardianFactory(person=staff.person)
    assert guardian.organization != staff.organization


def test_lesson_must_end_after_it_starts():
    import datetime as dt

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.LessonFactory(start=dt.time(10, 0), end=dt.time(9, 0))


def test_two_lessons_of_one_teaching_cannot_share_a_start():
    lesson = factories.LessonFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.LessonFactory(teaching=lesson.teaching, date=lesson.date, start=lesson.start)

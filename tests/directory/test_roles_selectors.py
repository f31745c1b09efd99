"""`roles_of`: what a person is in one college — staff, student (with the group), parent — read
on every page with the menu, in one query."""

import pytest

from directory.models import Guardian, StaffMember, Student
from directory.selectors import NO_ROLES, roles_of
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return factories.OrganizationFactory(short_name="ПК № 7")


def test_each_role_of_the_college_comes_in_one_query(org, django_assert_num_queries):
    group = factories.GroupFactory(organization=org, name="ИС-21")
    staff = factories.StaffMemberFactory(organization=org, position="Библиотекарь", is_admin=True)
    student = factories.StudentFactory(organization=org, person=staff.person, group=group)
    parent = factories.GuardianFactory(organization=org, person=staff.person)

    with django_assert_num_queries(1):
        roles = roles_of(staff.person, org)
        # The student's group came with the role: the desktop shows it without a query.
        assert roles.student.group.name == "ИС-21"

    assert (roles.staff, roles.student, roles.guardian) == (staff, student, parent)
    assert roles.labels == ["Администратор ОО", "Библиотекарь", "Обучающийся", "Родитель"]


def test_the_roles_read_are_the_rows_stored(org):
    staff = factories.StaffMemberFactory(organization=org, position="Завуч", is_admin=False)
    student = factories.StudentFactory(organization=org, person=staff.person)
    roles = roles_of(staff.person, org)

    stored = StaffMember.objects.get(pk=staff.pk)
    for field in StaffMember._meta.concrete_fields:
        assert getattr(roles.staff, field.attname) == getattr(stored, field.attname)
    # Booleans are booleans on every database (SQLite keeps them as 0 and 1).
    assert roles.staff.is_admin is False and roles.staff.is_active is True
    assert roles.student.group_id == Student.objects.get(pk=student.pk).group_id
    assert not roles.staff._state.adding


def test_inactive_roles_and_roles_of_another_college_are_no_roles_here(org):
    other = factories.OrganizationFactory(short_name="Чужой")
    staff = factories.StaffMemberFactory(organization=org, is_active=False)
    factories.StudentFactory(organization=other, person=staff.person)
    factories.GuardianFactory(organization=other, person=staff.person)

    assert roles_of(staff.person, org) == NO_ROLES
    elsewhere = roles_of(staff.person, other)
    assert elsewhere.staff is None
    assert elsewhere.student is not None and isinstance(elsewhere.guardian, Guardian)


def test_a_person_with_no_role_in_the_college_has_none(org):
    person = factories.PersonFactory()
    roles = roles_of(person, org)
    assert roles == NO_ROLES
    assert roles.labels == []
    assert not roles.is_admin


def test_outside_any_college_there_are_no_roles_and_no_query(django_assert_num_queries):
    person = factories.PersonFactory()
    with django_assert_num_queries(0):
        assert roles_of(person, None) is NO_ROLES

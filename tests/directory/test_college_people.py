"""The people of each college (CollegePerson, directory/college_people.py): the database keeps
one row per person with an active role in the college, under the person's current name,
whoever changes the roles or the name and however."""

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from directory.models import CollegePerson, Guardian, Person, StaffMember, Student
from tests import factories

pytestmark = pytest.mark.django_db


def people_of(org) -> dict[int, str]:
    return dict(
        CollegePerson.objects.filter(organization=org).values_list("person_id", "fio_search")
    )


def truth() -> set[tuple[int, int]]:
    """(college, person) of every active role, read from the role tables themselves."""
    pairs = set()
    for model in (Student, Guardian, StaffMember):
        pairs |= set(model.objects.filter(is_active=True).values_list("organization", "person"))
    return pairs


def kept() -> set[tuple[int, int]]:
    return set(CollegePerson.objects.values_list("organization", "person"))


def test_a_new_role_lists_its_person_in_the_college_under_their_name():
    student = factories.StudentFactory(
        person=factories.PersonFactory(last_name="Иванов", first_name="Кирилл", middle_name="")
    )
    assert people_of(student.organization) == {student.person_id: "ИВАНОВ КИРИЛЛ "}


def test_a_person_with_two_roles_in_a_college_is_listed_once_and_stays_while_one_is_active():
    staff = factories.StaffMemberFactory()
    student = factories.StudentFactory(organization=staff.organization)
    parent = factories.GuardianFactory(
        organization=staff.organization, person=staff.person, children=[student]
    )
    assert sorted(people_of(staff.organization)) == sorted([staff.person_id, student.person_id])
    StaffMember.objects.filter(pk=staff.pk).update(is_active=False)
    assert staff.person_id in people_of(staff.organization)
    Guardian.objects.filter(pk=parent.pk).update(is_active=False)
    assert staff.person_id not in people_of(staff.organization)
    Guardian.objects.filter(pk=parent.pk).update(is_active=True)
    assert staff.person_id in people_of(staff.organization)


def test_a_role_deleted_or_moved_to_another_college_takes_the_person_along():
    student = factories.StudentFactory()
    other = factories.OrganizationFactory()
    group = factories.GroupFactory(organization=other)
    Student.objects.filter(pk=student.pk).update(organization=other, group=group)
    assert people_of(student.organization) == {}
    assert list(people_of(other)) == [student.person_id]
    Student.objects.filter(pk=student.pk).delete()
    assert people_of(other) == {}


def test_a_renamed_person_is_found_by_the_new_name_in_every_college():
    student = factories.StudentFactory()
    factories.StaffMemberFactory(person=student.person)
    Person.objects.filter(pk=student.person_id).update(last_name="Новикова")
    names = set(
        CollegePerson.objects.filter(person=student.person_id).values_list("fio_search", flat=True)
    )
    assert len(names) == 1 and names.pop().startswith("НОВИКОВА ")


def test_moving_a_student_to_another_group_writes_nothing_here():
    student = factories.StudentFactory()
    before = CollegePerson.objects.get(person=student.person_id).pk
    other = factories.GroupFactory(organization=student.organization)
    Student.objects.filter(pk=student.pk).update(group=other)
    assert CollegePerson.objects.get(person=student.person_id).pk == before


def test_deleting_a_college_cascades_to_its_roles_and_leaves_none_of_its_people():
    staff = factories.StaffMemberFactory()
    factories.GuardianFactory(organization=staff.organization)
    org = staff.organization
    assert len(people_of(org)) == 2
    org.delete()
    assert not CollegePerson.objects.filter(organization=org.pk).exists()


def test_bulk_statements_are_seen_as_row_by_row_changes_are():
    org = factories.OrganizationFactory()
    group = factories.GroupFactory(organization=org)
    people = Person.objects.bulk_create(
        Person(login=f"bulk{i}", last_name=f"Массов{i}", first_name="Тест") for i in range(30)
    )
    Student.objects.bulk_create(
        Student(organization=org, group=group, person=person, external_id=f"s{i}")
        for i, person in enumerate(people)
    )
    assert len(people_of(org)) == 30
    Student.objects.filter(organization=org, person__in=people[:10]).update(is_active=False)
    assert len(people_of(org)) == 20
    with connection.cursor() as cursor:  # a fix by hand goes past the ORM, not the triggers
        cursor.execute("DELETE FROM directory_student WHERE organization_id = %s", [org.pk])
    assert people_of(org) == {}


# Random changes to the roles and names of two colleges: the kept rows always equal the truth.
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(
            ["student", "parent", "staff", "leave", "return", "move", "delete", "rename", "bulk"]
        ),
        st.integers(min_value=0, max_value=1000),
    ),
    min_size=1,
    max_size=10,
)


def _change(orgs, groups, name, n):
    org, group = orgs[n % 2], groups[n % 2]
    roles = [
        *Student.objects.order_by("pk"),
        *Guardian.objects.order_by("pk"),
        *StaffMember.objects.order_by("pk"),
    ]
    role = roles[n % len(roles)]
    model = type(role)
    people = list(Person.objects.order_by("pk"))
    person = people[n % len(people)]
    if name == "student" and not Student.objects.filter(organization=org, person=person).exists():
        factories.StudentFactory(organization=org, group=group, person=person)
    elif name == "parent" and not Guardian.objects.filter(organization=org, person=person):
        factories.GuardianFactory(organization=org, person=person)
    elif name == "staff" and not StaffMember.objects.filter(organization=org, person=person):
        factories.StaffMemberFactory(organization=org, person=person)
    elif name in ("leave", "return"):
        model.objects.filter(pk=role.pk).update(is_active=name == "return")
    elif name == "move" and model is Student:
        other = orgs[(orgs.index(role.organization) + 1) % 2]
        if not Student.objects.filter(organization=other, person=role.person_id).exists():
            group = groups[orgs.index(other)]
            Student.objects.filter(pk=role.pk).update(organization=other, group=group)
    elif name == "delete" and model is not Student:
        role.delete()
    elif name == "rename":
        Person.objects.filter(pk=person.pk).update(first_name=f"Имя{n}")
    elif name == "bulk":
        model.objects.filter(organization=org).update(is_active=n % 3 != 0)


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=CHANGES)
def test_whatever_changes_the_kept_people_are_the_colleges_active_roles(changes):
    with transaction.atomic():
        orgs = [factories.OrganizationFactory(), factories.OrganizationFactory()]
        groups = [factories.GroupFactory(organization=org) for org in orgs]
        for org, group in zip(orgs, groups, strict=True):
            student = factories.StudentFactory(organization=org, group=group)
            factories.GuardianFactory(organization=org, children=[student])
            factories.StaffMemberFactory(organization=org)
        for name, n in changes:
            _change(orgs, groups, name, n)
        assert kept() == truth(), changes
        names = dict(Person.objects.values_list("pk", "first_name"))
        for person_id, first_name in CollegePerson.objects.values_list("person", "first_name"):
            assert first_name == names[person_id]
        transaction.set_rollback(True)


@pytest.mark.postgres
def test_the_search_index_takes_new_people_in_at_once_rather_than_queueing_them():
    """A GIN fast-update list is read by every search until a vacuum: the import would
    leave thousands of entries there for the picker to wade through."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s",
            ["directory_collegeperson_fio_search_trgm"],
        )
        (options,) = cursor.fetchone()
    assert "fastupdate=off" in options

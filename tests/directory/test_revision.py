"""The roster revision (directory/revision.py): the database raises a college's counter on every
change to who belongs to its mandatory chats, whoever makes it, and on nothing else."""

import pytest
from django.db import connection

from directory.models import Group, Guardian, Organization, RosterChange, StaffMember, Student
from tests import factories

pytestmark = pytest.mark.django_db


def revision(org) -> int:
    return Organization.objects.values_list("revision", flat=True).get(pk=org.pk)


@pytest.fixture
def college():
    org = factories.OrganizationFactory()
    curator = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org, curators=[curator])
    student = factories.StudentFactory(organization=org, group=group)
    parent = factories.GuardianFactory(organization=org, children=[student])
    return {"org": org, "curator": curator, "group": group, "student": student, "parent": parent}


@pytest.fixture
def other_college():
    return factories.OrganizationFactory()


def raises_revision(org, change) -> bool:
    before = revision(org)
    change()
    return revision(org) > before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: factories.StaffMemberFactory(organization=c["org"]), id="new-staff"),
        pytest.param(
            lambda c: StaffMember.objects.filter(pk=c["curator"].pk).update(is_admin=True),
            id="admin-flag",
        ),
        pytest.param(
            lambda c: StaffMember.objects.filter(pk=c["curator"].pk).update(is_active=False),
            id="staff-leaves",
        ),
        pytest.param(
            lambda c: Group.objects.filter(pk=c["group"].pk).update(name="ИС-99"),
            id="group-renamed",
        ),
        pytest.param(lambda c: c["group"].curators.clear(), id="curator-removed"),
        pytest.param(
            lambda c: c["group"].curators.add(factories.StaffMemberFactory(organization=c["org"])),
            id="curator-added",
        ),
        pytest.param(
            lambda c: Student.objects.filter(pk=c["student"].pk).update(
                group=factories.GroupFactory(organization=c["org"])
            ),
            id="student-moved",
        ),
        pytest.param(
            lambda c: Student.objects.filter(pk=c["student"].pk).update(is_active=False),
            id="student-leaves",
        ),
        pytest.param(
            lambda c: Guardian.objects.filter(pk=c["parent"].pk).update(is_active=False),
            id="parent-leaves",
        ),
        pytest.param(lambda c: c["parent"].children.clear(), id="child-unlinked"),
        pytest.param(
            lambda c: c["parent"].children.add(
                factories.StudentFactory(organization=c["org"], group=c["group"])
            ),
            id="child-linked",
        ),
        pytest.param(lambda c: c["parent"].delete(), id="parent-deleted"),
    ],
)
def test_every_change_to_who_belongs_to_the_chats_raises_the_colleges_revision(
    college, other_college, change
):
    others_before = revision(other_college)
    assert raises_revision(college["org"], lambda: change(college))
    assert revision(other_college) == others_before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda c: StaffMember.objects.filter(pk=c["curator"].pk).update(position="Методист"),
            id="staff-position",
        ),
        pytest.param(
            lambda c: Group.objects.filter(pk=c["group"].pk).update(course=2), id="group-course"
        ),
        pytest.param(
            lambda c: Student.objects.filter(pk=c["student"].pk).update(external_id="x-1"),
            id="student-external-id",
        ),
        pytest.param(
            lambda c: Student.objects.filter(pk=c["student"].pk).update(is_active=True),
            id="same-value-rewritten",
        ),
        pytest.param(
            lambda c: Organization.objects.filter(pk=c["org"].pk).update(short_name="Новое"),
            id="organization-name",
        ),
    ],
)
def test_changes_that_leave_the_chats_as_they_are_keep_the_revision(college, change):
    assert not raises_revision(college["org"], lambda: change(college))


def test_a_bulk_statement_over_many_rows_raises_each_college_it_touches(college, other_college):
    group = factories.GroupFactory(organization=other_college)
    factories.StudentFactory(organization=other_college, group=group)
    before = revision(college["org"]), revision(other_college)
    Student.objects.all().update(is_active=False)
    after = revision(college["org"]), revision(other_college)
    assert after[0] > before[0] and after[1] > before[1]


def test_a_change_by_hand_in_sql_is_seen_too(college):
    student = Student._meta.db_table
    before = revision(college["org"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {student} SET is_active = %s WHERE id = %s", [False, college["student"].pk]
        )
    assert revision(college["org"]) > before


def test_the_revision_is_not_editable_in_forms():
    assert not Organization._meta.get_field("revision").editable


# --- the change log: whose memberships to compare ---------------------------------------------


def logged(org) -> set:
    return set(RosterChange.objects.filter(organization=org).values_list("person_id", flat=True))


def test_a_moved_student_is_logged_with_their_parents(college):
    RosterChange.objects.all().delete()
    Student.objects.filter(pk=college["student"].pk).update(
        group=factories.GroupFactory(organization=college["org"])
    )
    # The new group is a change to the whole college (its chats may appear): None is logged too.
    assert {college["student"].person_id, college["parent"].person_id} <= logged(college["org"])


def test_a_curator_link_logs_the_curator(college):
    RosterChange.objects.all().delete()
    college["group"].curators.clear()
    assert logged(college["org"]) == {college["curator"].person_id}


def test_a_parent_given_another_child_is_logged(college):
    RosterChange.objects.all().delete()
    college["parent"].children.clear()
    assert logged(college["org"]) == {college["parent"].person_id}


def test_a_change_to_a_group_asks_for_the_whole_college(college):
    RosterChange.objects.all().delete()
    Group.objects.filter(pk=college["group"].pk).update(name="ИС-99")
    assert logged(college["org"]) == {None}


def test_a_rewrite_of_the_same_values_logs_nobody(college):
    RosterChange.objects.all().delete()
    Student.objects.filter(pk=college["student"].pk).update(is_active=True)
    assert logged(college["org"]) == set()

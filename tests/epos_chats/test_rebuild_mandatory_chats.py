"""F11, F13 and B2: the nightly rebuild of mandatory chats from the directory."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from directory.models import RosterChange
from epos_chats.models import Chat, ChatMember, RebuildRun
from epos_chats.services import MandatoryChatLocked, ensure_editable, rebuild_mandatory_chats
from tests import factories

pytestmark = pytest.mark.django_db

LATER = timezone.now() + dt.timedelta(days=1)


class College:
    """A small college: two admins, a teacher-curator, a librarian, one curated group."""

    def __init__(self):
        self.org = factories.OrganizationFactory()
        org = self.org
        self.director = factories.StaffMemberFactory(organization=org, is_admin=True)
        self.deputy = factories.StaffMemberFactory(organization=org, is_admin=True)
        self.curator = factories.StaffMemberFactory(organization=org)
        self.librarian = factories.StaffMemberFactory(organization=org, position="Библиотекарь")
        self.group = factories.GroupFactory(organization=org, name="ИС-21", curators=[self.curator])
        self.students = [
            factories.StudentFactory(organization=org, group=self.group) for _ in range(4)
        ]
        self.parents = [
            factories.GuardianFactory(organization=org, children=[student])
            for student in self.students
        ]

    def rebuild(self, **kwargs):
        return rebuild_mandatory_chats(self.org, **kwargs)

    def chat(self, kind, group=None):
        return Chat.objects.get(organization=self.org, kind=kind, group=group)


def members(chat):
    return {m.person_id: m.is_admin for m in ChatMember.objects.filter(chat=chat)}


def test_teachers_chat_holds_every_staff_member_with_oo_admins_as_chat_admins():
    college = College()
    college.rebuild()
    chat = college.chat("teachers")
    assert chat.title == "Преподаватели"
    assert members(chat) == {
        college.director.person_id: True,
        college.deputy.person_id: True,
        college.curator.person_id: False,
        college.librarian.person_id: False,
    }


def test_group_chat_holds_curators_as_admins_and_all_students():
    college = College()
    college.rebuild()
    chat = college.chat("group", college.group)
    assert chat.title == "Группа ИС-21"
    expected = {s.person_id: False for s in college.students} | {college.curator.person_id: True}
    assert members(chat) == expected


def test_parents_chat_holds_curators_as_admins_and_parents_of_the_group():
    college = College()
    college.rebuild()
    chat = college.chat("parents", college.group)
    assert chat.title == "Родители ИС-21"
    expected = {p.person_id: False for p in college.parents} | {college.curator.person_id: True}
    assert members(chat) == expected


def test_a_group_without_a_curator_gets_no_group_or_parents_chat():
    college = College()
    lonely = factories.GroupFactory(organization=college.org, name="ТМ-11")
    factories.StudentFactory(organization=college.org, group=lonely)
    college.rebuild()
    assert not Chat.objects.filter(group=lonely).exists()


def test_a_curator_assigned_later_brings_the_chats_at_the_next_rebuild():
    college = College()
    lonely = factories.GroupFactory(organization=college.org, name="ТМ-11")
    student = factories.StudentFactory(organization=college.org, group=lonely)
    college.rebuild()
    lonely.curators.add(college.librarian)
    run = college.rebuild(now=LATER)
    assert run.chats_created == 2
    chat = college.chat("group", lonely)
    assert members(chat) == {college.librarian.person_id: True, student.person_id: False}
    assert chat.changed_at == LATER


def test_a_student_moved_between_groups_moves_between_chats():
    college = College()
    other = factories.GroupFactory(
        organization=college.org, name="ИС-22", curators=[college.curator]
    )
    college.rebuild()
    moved = college.students[0]
    moved.group = other
    moved.save()
    run = college.rebuild(now=LATER)
    assert moved.person_id not in members(college.chat("group", college.group))
    assert moved.person_id in members(college.chat("group", other))
    parent = college.parents[0].person_id
    assert parent not in members(college.chat("parents", college.group))
    assert parent in members(college.chat("parents", other))
    assert run.members_added == 2 and run.members_removed == 2


def test_a_parent_of_two_students_in_two_groups_is_in_both_parents_chats():
    college = College()
    other = factories.GroupFactory(
        organization=college.org, name="ИС-31", curators=[college.curator]
    )
    younger = factories.StudentFactory(organization=college.org, group=other)
    college.parents[0].children.add(younger)
    college.rebuild()
    parent = college.parents[0].person_id
    assert parent in members(college.chat("parents", college.group))
    assert parent in members(college.chat("parents", other))


def test_a_parent_of_two_students_in_one_group_is_one_member():
    college = College()
    college.parents[0].children.add(college.students[1])
    college.rebuild()
    chat = college.chat("parents", college.group)
    assert ChatMember.objects.filter(chat=chat, person_id=college.parents[0].person_id).count() == 1


def test_a_deactivated_staff_member_leaves_teachers_chat():
    college = College()
    college.rebuild()
    college.librarian.is_active = False
    college.librarian.save()
    college.rebuild(now=LATER)
    assert college.librarian.person_id not in members(college.chat("teachers"))


def test_an_oo_admin_who_loses_the_flag_stays_a_member_without_admin_rights():
    college = College()
    college.rebuild()
    college.deputy.is_admin = False
    college.deputy.save()
    run = college.rebuild(now=LATER)
    assert members(college.chat("teachers"))[college.deputy.person_id] is False
    assert run.admins_changed == 1
    assert college.chat("teachers").changed_at == LATER


def test_a_curator_who_is_also_a_parent_in_the_group_stays_an_admin():
    college = College()
    college.parents[0].person = college.curator.person
    college.parents[0].save()
    college.rebuild()
    assert members(college.chat("parents", college.group))[college.curator.person_id] is True


def test_a_removed_group_loses_its_chats_softly_and_gets_them_back():
    college = College()
    college.rebuild()
    chat = college.chat("group", college.group)
    college.group.is_active = False
    college.group.save()
    run = college.rebuild(now=LATER, threshold=1.0)
    chat.refresh_from_db()
    assert chat.deleted_at == LATER and run.chats_deleted == 2
    assert ChatMember.objects.filter(chat=chat).count() == 5  # history stays

    college.group.is_active = True
    college.group.save()
    run = college.rebuild(now=LATER + dt.timedelta(days=1))
    chat.refresh_from_db()
    assert chat.deleted_at is None and run.chats_restored == 2
    assert Chat.objects.filter(group=college.group, kind="group").count() == 1


def test_a_group_that_loses_its_only_curator_keeps_its_chats_without_admins():
    college = College()
    college.rebuild()
    college.group.curators.clear()
    college.rebuild(now=LATER, threshold=1.0)
    chat = college.chat("group", college.group)
    assert chat.deleted_at is None
    assert college.curator.person_id not in members(chat)
    assert len(members(chat)) == 4


def test_a_renamed_group_renames_its_chats():
    college = College()
    college.rebuild()
    college.group.name = "ИС-31"
    college.group.save()
    run = college.rebuild(now=LATER)
    assert college.chat("group", college.group).title == "Группа ИС-31"
    assert college.chat("parents", college.group).title == "Родители ИС-31"
    assert run.chats_renamed == 2


def test_a_second_rebuild_changes_nothing():
    college = College()
    first = college.rebuild()
    before = list(
        ChatMember.objects.order_by("pk").values_list("pk", "chat_id", "person_id", "is_admin")
    )
    stamps = list(Chat.objects.order_by("pk").values_list("changed_at", flat=True))
    second = college.rebuild(now=LATER)
    assert first.status == RebuildRun.Status.APPLIED
    assert second.status == RebuildRun.Status.UNCHANGED
    assert (
        list(
            ChatMember.objects.order_by("pk").values_list("pk", "chat_id", "person_id", "is_admin")
        )
        == before
    )
    assert list(Chat.objects.order_by("pk").values_list("changed_at", flat=True)) == stamps


def test_only_changed_chats_are_marked_for_the_push():
    college = College()
    college.rebuild()
    factories.StaffMemberFactory(organization=college.org)
    college.rebuild(now=LATER)
    assert college.chat("teachers").changed_at == LATER
    assert college.chat("group", college.group).changed_at != LATER


def test_other_colleges_are_untouched():
    college, other = College(), College()
    college.rebuild()
    assert not Chat.objects.filter(organization=other.org).exists()


def test_custom_chats_are_not_touched_by_the_rebuild():
    college = College()
    custom = factories.ChatFactory(organization=college.org, title="Кружок")
    factories.ChatMemberFactory(chat=custom, person=college.students[0].person, is_admin=True)
    college.rebuild()
    assert members(custom) == {college.students[0].person_id: True}


# --- B2 ----------------------------------------------------------------------------------


def test_a_rebuild_that_would_remove_too_many_members_stops_and_leaves_chats_as_they_were(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    college = College()
    college.rebuild()
    before = list(ChatMember.objects.order_by("pk").values_list("pk", "is_admin"))
    for student in college.students:
        student.is_active = False
        student.save()
    run = college.rebuild(now=LATER)
    assert run.status == RebuildRun.Status.STOPPED
    assert "MASS_REMOVAL_THRESHOLD" in run.message and "8 из 14" in run.message
    assert list(ChatMember.objects.order_by("pk").values_list("pk", "is_admin")) == before
    assert RebuildRun.objects.filter(organization=college.org, status="stopped").count() == 1


def test_the_first_rebuild_of_a_college_is_never_stopped_by_the_threshold():
    run = College().rebuild(threshold=0.0)
    assert run.status == RebuildRun.Status.APPLIED


def test_removals_within_the_threshold_are_applied(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    college = College()
    college.rebuild()
    college.students[0].is_active = False
    college.students[0].save()
    run = college.rebuild(now=LATER)  # the student and their parent: 2 of 14
    assert run.status == RebuildRun.Status.APPLIED and run.members_removed == 2


# --- F12 and the constraints ----------------------------------------------------------------


def test_mandatory_chats_cannot_be_edited_through_the_service_guard():
    college = College()
    college.rebuild()
    for chat in Chat.objects.filter(organization=college.org):
        with pytest.raises(MandatoryChatLocked):
            ensure_editable(chat)


def test_a_custom_chat_passes_the_guard():
    ensure_editable(factories.ChatFactory())


def test_one_teachers_chat_per_college_is_enforced_by_the_database():
    college = College()
    college.rebuild()
    with pytest.raises(IntegrityError), transaction.atomic():
        Chat.objects.create(organization=college.org, kind="teachers", title="Ещё один")


def test_one_mandatory_chat_of_each_kind_per_group_is_enforced_by_the_database():
    college = College()
    college.rebuild()
    with pytest.raises(IntegrityError), transaction.atomic():
        Chat.objects.create(
            organization=college.org, kind="parents", group=college.group, title="x"
        )


def test_a_group_chat_without_a_group_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Chat.objects.create(organization=factories.OrganizationFactory(), kind="group", title="x")


def test_a_mandatory_chat_cannot_live_in_the_epos_block():
    with pytest.raises(IntegrityError), transaction.atomic():
        Chat.objects.create(
            organization=factories.OrganizationFactory(),
            kind="teachers",
            platform="epos",
            title="x",
        )


def test_a_person_is_a_member_of_a_chat_once():
    member = factories.ChatMemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatMember.objects.create(chat=member.chat, person=member.person)


def test_the_rebuild_runs_a_bounded_number_of_queries(django_assert_max_num_queries):
    college = College()
    for _ in range(30):
        group = factories.GroupFactory(organization=college.org, curators=[college.curator])
        for _ in range(5):
            student = factories.StudentFactory(organization=college.org, group=group)
            factories.GuardianFactory(organization=college.org, children=[student])
    with django_assert_max_num_queries(20):
        college.rebuild()


# --- the directory revision: an unchanged college costs next to nothing ---------------------


def test_a_college_whose_directory_did_not_change_is_unchanged_without_reading_its_chats(
    django_assert_max_num_queries,
):
    college = College()
    college.rebuild()
    with django_assert_max_num_queries(6):  # lock and revision, last run, the run; no chat read
        run = college.rebuild(now=LATER)
    assert run.status == RebuildRun.Status.UNCHANGED


def test_a_run_records_the_directory_revision_its_chats_match():
    college = College()
    run = college.rebuild()
    college.org.refresh_from_db()
    assert run.revision == college.org.revision
    college.students[0].is_active = False
    college.students[0].save()
    college.org.refresh_from_db()
    assert college.rebuild(now=LATER).revision == college.org.revision > run.revision


def test_a_change_to_the_directory_after_a_rebuild_is_never_skipped():
    college = College()
    college.rebuild()
    college.rebuild(now=LATER)  # unchanged: the shortcut
    college.group.curators.clear()
    newcomer = factories.StudentFactory(organization=college.org, group=college.group)
    run = college.rebuild(now=LATER)
    assert run.status == RebuildRun.Status.APPLIED
    assert newcomer.person_id in members(college.chat("group", college.group))


def test_a_stopped_run_does_not_count_as_the_chats_matching_the_directory(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    college = College()
    college.rebuild()
    for student in college.students:
        student.is_active = False
        student.save()
    assert college.rebuild(now=LATER).status == RebuildRun.Status.STOPPED
    again = college.rebuild(now=LATER)  # same revision, but the stop changed nothing
    assert again.status == RebuildRun.Status.STOPPED
    raised = college.rebuild(now=LATER, threshold=1.0)
    assert raised.status == RebuildRun.Status.APPLIED and raised.members_removed == 8


def test_a_full_rebuild_compares_the_chats_even_when_the_directory_did_not_change():
    college = College()
    college.rebuild()
    # Only the rebuild writes mandatory chats (F12); a member lost some other way, e.g. a
    # restored backup of the chats alone, is what `nightly --full` is for.
    lost = college.students[0].person_id
    ChatMember.objects.filter(chat=college.chat("group", college.group), person_id=lost).delete()
    assert college.rebuild(now=LATER).status == RebuildRun.Status.UNCHANGED
    run = college.rebuild(now=LATER, full=True)
    assert run.status == RebuildRun.Status.APPLIED and run.members_added == 1
    assert lost in members(college.chat("group", college.group))


def test_a_rebuild_empties_the_change_log_and_a_stop_keeps_it(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    college = College()
    college.rebuild()
    assert not RosterChange.objects.filter(organization=college.org).exists()
    for student in college.students:
        student.is_active = False
        student.save()
    assert college.rebuild(now=LATER).status == RebuildRun.Status.STOPPED
    assert RosterChange.objects.filter(organization=college.org).exists()


def test_a_scoped_rebuild_reads_only_the_logged_people(django_assert_max_num_queries):
    college = College()
    for _ in range(20):
        group = factories.GroupFactory(organization=college.org, curators=[college.curator])
        for _ in range(5):
            factories.StudentFactory(organization=college.org, group=group)
    college.rebuild()
    mover = college.students[0]
    mover.group = group
    mover.save()
    run = college.rebuild(now=LATER)
    # The student and their parent leave ИС-21's chats for the new group's.
    assert (run.members_added, run.members_removed) == (2, 2)
    assert mover.person_id in members(college.chat("group", group))
    assert college.rebuild(now=LATER, full=True).status == RebuildRun.Status.UNCHANGED


# Random changes to a college's directory, then the nightly rebuild: whatever it compared
# (the logged people, or everything), a full comparison afterwards finds nothing left to fix.
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "move",
                "leave",
                "return",
                "adopt",
                "orphan",
                "admin",
                "staff_leaves",
                "curate",
                "uncurate",
                "new_student",
                "new_parent",
                "rename",
            ]
        ),
        st.integers(min_value=0, max_value=1000),
    ),
    min_size=1,
    max_size=8,
)


def _apply_operation(college, groups, name, n):
    from directory.models import Group, Guardian, StaffMember, Student

    org = college.org
    students = list(Student.objects.filter(organization=org).order_by("pk"))
    parents = list(Guardian.objects.filter(organization=org).order_by("pk"))
    staff = list(StaffMember.objects.filter(organization=org).order_by("pk"))
    student, parent = students[n % len(students)], parents[n % len(parents)]
    member, group = staff[n % len(staff)], groups[n % len(groups)]
    if name == "move":
        Student.objects.filter(pk=student.pk).update(group=group)
    elif name in ("leave", "return"):
        Student.objects.filter(pk=student.pk).update(is_active=name == "return")
    elif name == "adopt":
        parent.children.add(student)
    elif name == "orphan":
        parent.children.remove(*parent.children.all()[:1])
    elif name == "admin":
        StaffMember.objects.filter(pk=member.pk).update(is_admin=not member.is_admin)
    elif name == "staff_leaves":
        StaffMember.objects.filter(pk=member.pk).update(is_active=not member.is_active)
    elif name == "curate":
        group.curators.add(member)
    elif name == "uncurate":
        group.curators.remove(member)
    elif name == "new_student":
        factories.StudentFactory(organization=org, group=group)
    elif name == "new_parent":
        factories.GuardianFactory(organization=org, children=[student])
    elif name == "rename":
        Group.objects.filter(pk=group.pk).update(name=f"{group.name}-{n}")


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=OPERATIONS, second=OPERATIONS)
def test_whatever_changes_the_rebuild_leaves_nothing_for_a_full_comparison(first, second):
    with transaction.atomic():
        college = College()
        # Two more curated groups, and one with no curator and so no chats yet.
        groups = [college.group] + [
            factories.GroupFactory(organization=college.org, curators=[college.curator])
            for _ in range(2)
        ]
        groups.append(factories.GroupFactory(organization=college.org))
        factories.StudentFactory(organization=college.org, group=groups[-1])
        college.rebuild()
        for night, operations in enumerate((first, second), start=1):
            for name, n in operations:
                _apply_operation(college, groups, name, n)
            college.rebuild(now=LATER + dt.timedelta(days=night), threshold=1.0)
            check = college.rebuild(now=LATER + dt.timedelta(days=night), full=True)
            assert check.status == RebuildRun.Status.UNCHANGED, operations
        transaction.set_rollback(True)


def test_when_only_students_and_parents_moved_the_set_of_chats_is_not_read(
    django_assert_max_num_queries,
):
    college = College()
    other = factories.GroupFactory(organization=college.org, curators=[college.curator])
    college.rebuild()
    college.students[0].group = other
    college.students[0].save()
    college.parents[1].children.add(college.students[2])  # already a child of the group
    college.parents[1].children.remove(college.students[1])
    # Lock, what changed, the comparison, B2's weighing, its writes (add, remove, touch), the
    # log, the run.
    with django_assert_max_num_queries(11):
        run = college.rebuild(now=LATER)
    assert run.status == RebuildRun.Status.APPLIED
    assert college.students[0].person_id in members(college.chat("group", other))
    assert college.parents[1].person_id in members(college.chat("parents", college.group))
    assert college.rebuild(now=LATER, full=True).status == RebuildRun.Status.UNCHANGED


def test_b2_weighs_removals_against_a_count_that_stops_once_it_has_shown_enough(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    college = College()
    college.rebuild()
    college.students[0].is_active = False
    college.students[0].save()
    run = college.rebuild(now=LATER)  # 2 leave: 11 members show it is under 20 % of 14
    assert run.status == RebuildRun.Status.APPLIED and run.members_removed == 2
    for student in college.students[1:]:
        student.is_active = False
        student.save()
    stopped = college.rebuild(now=LATER)  # 6 more of the 12 left: the whole is counted
    assert stopped.status == RebuildRun.Status.STOPPED and "6 из 12" in stopped.message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_directory_change_committed_while_the_rebuild_waits_for_its_lock_is_not_lost():
    import threading
    import time

    from directory.models import Group

    college = College()
    college.rebuild()
    # Something is already in the log (a student left) when a group is renamed: the rename
    # asks for the whole college, and it commits while the rebuild waits on the college's row.
    college.students[0].is_active = False
    college.students[0].save()
    renaming = threading.Event()

    def rename():
        try:
            with transaction.atomic():
                Group.objects.filter(pk=college.group.pk).update(name="ИС-99")
                renaming.set()
                time.sleep(0.5)  # the rebuild starts now, and waits for this to commit
        finally:
            renaming.set()
            connection.close()

    thread = threading.Thread(target=rename)
    thread.start()
    renaming.wait()
    run = college.rebuild(now=LATER)
    thread.join()
    assert run.chats_renamed == 2 and run.members_removed == 2
    assert college.chat("group", college.group).title == "Группа ИС-99"
    assert college.rebuild(now=LATER, full=True).status == RebuildRun.Status.UNCHANGED

"""F14–F18 and B4 at the service level: what each service allows, refuses and records."""

import uuid

import pytest

from directory.selectors import roles_of
from epos_chats.models import AuditEvent, Chat, ChatMember
from epos_chats.services import (
    ChatError,
    MandatoryChatLocked,
    chat_admin_set,
    chat_create_custom,
    chat_create_discipline,
    chat_delete,
    chat_member_remove,
    chat_members_set,
    chat_rename,
    rebuild_mandatory_chats,
)
from tests import factories

pytestmark = pytest.mark.django_db


class College:
    def __init__(self):
        self.org = factories.OrganizationFactory(short_name="КПТ")
        org = self.org
        self.admin = factories.StaffMemberFactory(organization=org, is_admin=True)
        self.teacher = factories.StaffMemberFactory(organization=org)
        self.idle_teacher = factories.StaffMemberFactory(organization=org)
        self.group = factories.GroupFactory(organization=org, name="ИС-21", curators=[self.teacher])
        self.students = [
            factories.StudentFactory(organization=org, group=self.group) for _ in range(3)
        ]
        self.parent = factories.GuardianFactory(organization=org, children=[self.students[0]])
        self.discipline = factories.DisciplineFactory(organization=org, name="Информатика")
        self.teaching = factories.TeachingFactory(
            organization=org, group=self.group, discipline=self.discipline, teachers=[self.teacher]
        )

    def roles(self, role):
        return roles_of(role.person, self.org)

    def custom(self, by=None, members=None, **kwargs):
        by = by or self.admin
        members = members if members is not None else {s.person_id: False for s in self.students}
        return chat_create_custom(
            actor=by.person,
            roles=self.roles(by),
            organization=self.org,
            title="Кружок",
            members=members,
            **kwargs,
        ).chat


def members(chat):
    return dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))


def test_with_no_admin_marked_the_creator_becomes_the_chat_admin():
    college = College()
    chat = college.custom()
    assert members(chat)[college.admin.person_id] is True
    assert chat.created_by == college.admin.person and chat.kind == "custom"


def test_marked_admins_are_kept_and_the_creator_is_not_forced_in():
    college = College()
    chosen = {college.students[0].person_id: True, college.students[1].person_id: False}
    chat = college.custom(members=chosen)
    assert members(chat) == chosen


def test_a_teacher_with_a_group_by_discipline_may_create_chats():
    college = College()
    chat = college.custom(by=college.teacher)
    assert members(chat)[college.teacher.person_id] is True


@pytest.mark.parametrize("who", ["idle_teacher", "student", "parent"])
def test_people_without_the_right_cannot_create_chats(who):
    college = College()
    role = {
        "idle_teacher": college.idle_teacher,
        "student": college.students[0],
        "parent": college.parent,
    }[who]
    with pytest.raises(ChatError, match="Создавать чаты"):
        college.custom(by=role)
    assert not Chat.objects.exists()


@pytest.mark.parametrize(
    ("title", "message"),
    [("", "Укажите название"), ("   ", "Укажите название"), ("я" * 256, "не длиннее 255")],
)
def test_a_chat_needs_a_real_name(title, message):
    college = College()
    with pytest.raises(ChatError, match=message):
        chat_create_custom(
            actor=college.admin.person,
            roles=college.roles(college.admin),
            organization=college.org,
            title=title,
            members={college.students[0].person_id: False},
        )


def test_people_of_another_college_cannot_be_members():
    college, other = College(), College()
    with pytest.raises(ChatError, match="только сотрудники, обучающиеся и родители"):
        college.custom(members={other.students[0].person_id: False})
    assert not Chat.objects.exists()


def test_a_form_submitted_twice_creates_one_chat():
    college = College()
    key = uuid.uuid4()
    first = college.custom(request_key=key)
    again = chat_create_custom(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        organization=college.org,
        title="Кружок",
        members={college.students[0].person_id: False},
        request_key=key,
    )
    assert again.created is False and again.chat == first
    assert Chat.objects.count() == 1


def test_creation_is_audited():
    college = College()
    chat = college.custom()
    event = AuditEvent.objects.get(action="chat_created")
    assert event.actor == college.admin.person and event.object_id == chat.pk
    assert event.after["title"] == "Кружок" and event.organization == college.org


# --- «Дисциплина» ---------------------------------------------------------------------------


def discipline_chat(college, by=None, teaching=None):
    by = by or college.teacher
    return chat_create_discipline(
        actor=by.person,
        roles=college.roles(by),
        organization=college.org,
        teaching=teaching or college.teaching,
    ).chat


def test_a_discipline_chat_holds_its_teachers_as_admins_and_its_students():
    college = College()
    chat = discipline_chat(college)
    expected = {s.person_id: False for s in college.students} | {college.teacher.person_id: True}
    assert members(chat) == expected
    assert chat.title == "Информатика ИС-21" and chat.teaching == college.teaching


def test_a_discipline_chat_of_a_subgroup_holds_only_the_subgroup():
    college = College()
    half = factories.TeachingFactory(
        organization=college.org,
        group=college.group,
        discipline=college.discipline,
        teachers=[college.teacher],
        students=college.students[:2],
    )
    chat = discipline_chat(college, teaching=half)
    assert college.students[2].person_id not in members(chat)
    assert "подгруппа" in chat.title


def test_a_teacher_may_create_a_discipline_chat_only_for_their_own_teaching():
    college = College()
    foreign = factories.TeachingFactory(
        organization=college.org, group=college.group, teachers=[college.admin]
    )
    with pytest.raises(ChatError, match="своей группе"):
        discipline_chat(college, teaching=foreign)


def test_an_oo_admin_may_create_a_discipline_chat_for_any_teaching_of_the_college():
    college = College()
    chat = discipline_chat(college, by=college.admin)
    assert chat.kind == "discipline"


def test_one_live_discipline_chat_per_teaching():
    college = College()
    discipline_chat(college)
    with pytest.raises(ChatError, match="уже есть"):
        discipline_chat(college, by=college.admin)


def test_a_teaching_of_another_college_is_refused():
    college, other = College(), College()
    with pytest.raises(ChatError, match="нет в вашей организации"):
        discipline_chat(college, by=college.admin, teaching=other.teaching)


def test_a_discipline_chat_cannot_be_renamed():
    college = College()
    chat = discipline_chat(college)
    with pytest.raises(ChatError, match="Дисциплина"):
        chat_rename(
            actor=college.teacher.person,
            roles=college.roles(college.teacher),
            chat=chat,
            title="Другое",
        )


# --- editing (F17) and deleting (F18) ------------------------------------------------------


def test_a_chat_admin_renames_their_chat_and_it_is_audited_and_marked_for_the_push():
    college = College()
    chat = college.custom(by=college.teacher)
    before = chat.changed_at
    chat_rename(
        actor=college.teacher.person,
        roles=college.roles(college.teacher),
        chat=chat,
        title="  Новый   кружок ",
    )
    chat.refresh_from_db()
    assert chat.title == "Новый кружок" and chat.changed_at > before
    event = AuditEvent.objects.get(action="chat_renamed")
    assert event.before == {"title": "Кружок"} and event.after == {"title": "Новый кружок"}


def test_an_oo_admin_may_edit_any_custom_chat_of_the_college():
    college = College()
    chat = college.custom(by=college.teacher)
    chat_rename(
        actor=college.admin.person, roles=college.roles(college.admin), chat=chat, title="Другое"
    )


def test_a_plain_member_cannot_edit_the_chat():
    college = College()
    chat = college.custom(by=college.teacher)
    student = college.students[0]
    with pytest.raises(ChatError, match="администраторы этого чата"):
        chat_rename(actor=student.person, roles=college.roles(student), chat=chat, title="Мой")


def test_members_set_adds_removes_and_changes_rights_in_one_audited_step():
    college = College()
    chat = college.custom(by=college.teacher)
    s0, s1, s2 = (s.person_id for s in college.students)
    wanted = {college.teacher.person_id: True, s0: True, s1: False, college.parent.person_id: False}
    chat_members_set(
        actor=college.teacher.person,
        roles=college.roles(college.teacher),
        chat=chat,
        members=wanted,
    )
    assert members(chat) == wanted
    after = AuditEvent.objects.get(action="chat_members_changed").after
    assert after == {
        "added": [college.parent.person_id],
        "removed": [s2],
        "made_admin": [s0],
        "made_member": [],
    }


def test_a_chat_keeps_at_least_one_admin():
    college = College()
    chat = college.custom(by=college.teacher)
    with pytest.raises(ChatError, match="хотя бы один администратор"):
        chat_admin_set(
            actor=college.teacher.person,
            roles=college.roles(college.teacher),
            chat=chat,
            person_id=college.teacher.person_id,
            is_admin=False,
        )
    assert members(chat)[college.teacher.person_id] is True


def test_removing_a_member_and_granting_admin():
    college = College()
    chat = college.custom(by=college.teacher)
    roles = college.roles(college.teacher)
    s0, s1 = college.students[0].person_id, college.students[1].person_id
    chat_member_remove(actor=college.teacher.person, roles=roles, chat=chat, person_id=s0)
    chat_admin_set(
        actor=college.teacher.person, roles=roles, chat=chat, person_id=s1, is_admin=True
    )
    assert s0 not in members(chat) and members(chat)[s1] is True
    with pytest.raises(ChatError, match="уже нет"):
        chat_member_remove(actor=college.teacher.person, roles=roles, chat=chat, person_id=s0)


def test_a_deleted_chat_is_kept_softly_with_its_members():
    college = College()
    chat = college.custom(by=college.teacher)
    chat_delete(actor=college.teacher.person, roles=college.roles(college.teacher), chat=chat)
    chat.refresh_from_db()
    assert chat.deleted_at is not None and ChatMember.objects.filter(chat=chat).exists()
    assert AuditEvent.objects.filter(action="chat_deleted", object_id=chat.pk).exists()
    with pytest.raises(ChatError, match="удалён"):
        chat_rename(
            actor=college.admin.person, roles=college.roles(college.admin), chat=chat, title="x"
        )


@pytest.mark.parametrize("kind", ["teachers", "group", "parents"])
@pytest.mark.parametrize("action", ["rename", "members", "admin", "remove", "delete"])
def test_mandatory_chats_cannot_be_changed_by_anyone_through_any_service(kind, action):
    college = College()
    rebuild_mandatory_chats(college.org)
    chat = Chat.objects.get(organization=college.org, kind=kind)
    before = (chat.title, members(chat), chat.deleted_at)
    roles = college.roles(college.admin)
    actor = college.admin.person
    calls = {
        "rename": lambda: chat_rename(actor=actor, roles=roles, chat=chat, title="Взлом"),
        "members": lambda: chat_members_set(
            actor=actor, roles=roles, chat=chat, members={actor.pk: True}
        ),
        "admin": lambda: chat_admin_set(
            actor=actor, roles=roles, chat=chat, person_id=college.teacher.person_id, is_admin=False
        ),
        "remove": lambda: chat_member_remove(
            actor=actor, roles=roles, chat=chat, person_id=college.teacher.person_id
        ),
        "delete": lambda: chat_delete(actor=actor, roles=roles, chat=chat),
    }
    with pytest.raises(MandatoryChatLocked):
        calls[action]()
    chat.refresh_from_db()
    assert (chat.title, members(chat), chat.deleted_at) == before
    assert not AuditEvent.objects.exists()

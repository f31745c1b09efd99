"""F19: who may manage a chat's calls — an OO admin for every chat of the college, a chat admin
for their chats, mandatory ones included — checked by the access helpers and again by every
service, so a view that forgot still refuses."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from calls.access import call_for_manage, can_manage_calls
from calls.models import OnlineCall
from directory.selectors import roles_of
from epos_chats.models import AuditEvent
from tests import factories
from tests.calls.helpers import NOW, TOMORROW, act, create, person_of, roles

pytestmark = pytest.mark.django_db

CHATS = ["discipline_chat", "custom_chat", "group_chat", "teachers_chat"]

# Who may manage the calls of which chat; everyone else in the college may not.
ALLOWED = {
    "admin": set(CHATS),  # OO admin: every chat of the college, mandatory ones too
    "teacher": {"discipline_chat"},  # chat admin of the «Дисциплина» chat
    "curator": {"custom_chat", "group_chat"},  # chat admin of «Группа ИС-11» (mandatory)
    "student": set(),  # a plain member of three chats
    "outsider": set(),  # a plain member of «Преподаватели» only
    "other_admin": set(),  # the OO admin of another college
}
MATRIX = [(who, chat) for who in ALLOWED for chat in CHATS]


def may(college, who, chat_name):
    role = getattr(college, who)
    return can_manage_calls(
        person_of(role), roles(role, role.organization), getattr(college, chat_name)
    )


@pytest.mark.parametrize(("who", "chat"), MATRIX, ids="-".join)
def test_who_may_manage_calls_of_which_chat(college, who, chat):
    assert may(college, who, chat) == (chat in ALLOWED[who])


def test_the_oo_admin_may_manage_calls_of_a_mandatory_chat_he_is_not_in(college):
    assert not college.group_chat.members.filter(person=college.admin.person).exists()
    assert may(college, "admin", "group_chat")


def test_a_chat_admin_may_not_manage_calls_of_a_chat_where_he_is_a_plain_member(college):
    assert college.teachers_chat.members.filter(person=college.curator.person).exists()
    assert not may(college, "curator", "teachers_chat")


@pytest.mark.parametrize("who", ["admin", "curator"])
def test_nobody_manages_calls_of_a_deleted_chat(college, who):
    college.custom_chat.deleted_at = NOW
    college.custom_chat.save()
    assert not may(college, who, "custom_chat")


def test_a_chat_admin_acting_in_another_college_may_not(college):
    """Rights are the current college's: the curator signed in to her other college (where she
    is a parent) does not manage her КПТ chats from there."""
    factories.GuardianFactory(organization=college.other_org, person=college.curator.person)
    other_roles = roles_of(college.curator.person, college.other_org)
    assert not can_manage_calls(college.curator.person, other_roles, college.group_chat)


def test_an_oo_admin_of_another_college_who_is_a_chat_admin_here_still_needs_a_role_here(college):
    factories.ChatMemberFactory(
        chat=college.custom_chat, person=college.other_admin.person, is_admin=True
    )
    assert not may(college, "other_admin", "custom_chat")


def test_a_chat_admin_who_is_a_student_may_manage_the_chats_calls(college):
    college.custom_chat.members.filter(person=college.student.person).update(is_admin=True)
    assert may(college, "student", "custom_chat")


# The services refuse by themselves ------------------------------------------------------------

REFUSED = [
    (who, chat) for who, chat in MATRIX if chat not in ALLOWED[who] and who != "other_admin"
] + [("other_admin", "custom_chat")]


@pytest.mark.parametrize(("who", "chat"), REFUSED, ids="-".join)
def test_creating_a_call_without_the_right_is_refused_by_the_service(college, who, chat):
    with pytest.raises(PermissionDenied):
        create(college, chat=getattr(college, chat), by=getattr(college, who))
    assert not OnlineCall.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["student", "outsider", "teacher", "other_admin"])
@pytest.mark.parametrize("action", ["update", "publish", "finish", "delete"])
def test_acting_on_a_call_without_the_right_is_refused_by_the_service(college, who, action):
    call = factories.CallFactory(
        chat=college.group_chat, status="published" if action == "finish" else "created"
    )
    before = OnlineCall.objects.values().get(pk=call.pk)
    fields = {"title": "Взлом", "date": TOMORROW, "time": dt.time(12)} if action == "update" else {}
    with pytest.raises(PermissionDenied):
        act(action, call, getattr(college, who), **fields)
    assert OnlineCall.objects.values().get(pk=call.pk) == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["admin", "curator"])
def test_the_oo_admin_and_the_chat_admin_run_a_mandatory_chats_call_through(college, who):
    by = getattr(college, who)
    call = create(college, chat=college.group_chat, by=by)
    act("publish", call, by)
    act("finish", call, by)
    assert act("delete", call, by).is_deleted


def test_a_chat_admin_who_lost_the_right_is_refused_at_once(college):
    call = create(college, chat=college.custom_chat, by=college.curator)
    college.custom_chat.members.filter(person=college.curator.person).update(is_admin=False)
    with pytest.raises(PermissionDenied):
        act("publish", call, college.curator)


# call_for_manage ------------------------------------------------------------------------------


def fetch(college, who, call_id, organization=None):
    role = getattr(college, who)
    org = organization if organization is not None else role.organization
    return call_for_manage(person_of(role), roles(role, org), org, call_id)


def test_the_call_is_given_to_whoever_may_manage_it(college):
    call = factories.CallFactory(chat=college.group_chat)
    assert fetch(college, "admin", call.pk) == call
    assert fetch(college, "curator", call.pk) == call


@pytest.mark.parametrize("who", ["student", "outsider", "teacher"])
def test_the_call_is_forbidden_to_the_others_of_the_college(college, who):
    call = factories.CallFactory(chat=college.group_chat)
    with pytest.raises(PermissionDenied):
        fetch(college, who, call.pk)


def test_a_call_of_another_college_is_not_found(college):
    call = factories.CallFactory(chat=college.other_chat)
    with pytest.raises(Http404):
        fetch(college, "admin", call.pk)


def test_a_deleted_call_is_not_found(college):
    call = factories.CallFactory(chat=college.custom_chat, deleted_at=NOW)
    with pytest.raises(Http404):
        fetch(college, "admin", call.pk)


def test_a_call_of_a_deleted_chat_is_not_found(college):
    call = factories.CallFactory(chat=college.custom_chat)
    college.custom_chat.deleted_at = NOW
    college.custom_chat.save()
    with pytest.raises(Http404):
        fetch(college, "admin", call.pk)


def test_a_call_that_does_not_exist_is_not_found(college):
    with pytest.raises(Http404):
        fetch(college, "admin", 987654)


def test_without_a_current_college_nothing_is_found(college):
    call = factories.CallFactory(chat=college.custom_chat)
    with pytest.raises(Http404):
        call_for_manage(college.admin.person, roles(college.admin, None), None, call.pk)


def test_a_deleted_chat_is_not_named_to_a_person_of_another_college(college):
    college.custom_chat.deleted_at = NOW
    college.custom_chat.save()
    with pytest.raises(PermissionDenied):
        create(college, chat=college.custom_chat, by=college.other_admin)

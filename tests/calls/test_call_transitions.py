"""F22: «Создан» → «Опубликован» → «Завершён», deletion from every status, edits only while
«Создан» — every move through the services, and the database's own guards."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from calls.models import OnlineCall
from calls.services import ALREADY_DELETED, CallError
from epos_chats.models import AuditEvent
from tests import factories
from tests.calls.helpers import TOMORROW, act, create

pytestmark = pytest.mark.django_db

EDIT = {"title": "Новое имя", "date": TOMORROW, "time": dt.time(16, 0)}

# Written out by hand, not read from OnlineCall.TRANSITIONS: the map is what is tested.
ALLOWED = {
    ("created", "update"): "created",
    ("created", "publish"): "published",
    ("created", "delete"): "created",
    ("published", "finish"): "finished",
    ("published", "delete"): "published",
    ("finished", "delete"): "finished",
}
REFUSED = {
    ("created", "finish"): "Завершить можно только звонок в статусе «Опубликован». "
    "Этот звонок сейчас в статусе «Создан».",
    ("published", "update"): "Редактировать можно только звонок в статусе «Создан». "
    "Этот звонок сейчас в статусе «Опубликован».",
    ("published", "publish"): "Опубликовать можно только звонок в статусе «Создан». "
    "Этот звонок сейчас в статусе «Опубликован».",
    ("finished", "update"): "Редактировать можно только звонок в статусе «Создан». "
    "Этот звонок сейчас в статусе «Завершён».",
    ("finished", "publish"): "Опубликовать можно только звонок в статусе «Создан». "
    "Этот звонок сейчас в статусе «Завершён».",
    ("finished", "finish"): "Завершить можно только звонок в статусе «Опубликован». "
    "Этот звонок сейчас в статусе «Завершён».",
}


def call_in(college, status):
    return factories.CallFactory(chat=college.custom_chat, status=status)


def test_the_tables_cover_every_status_and_action():
    statuses = {"created", "published", "finished"}
    actions = {"update", "publish", "finish", "delete"}
    assert set(ALLOWED) | set(REFUSED) == {(s, a) for s in statuses for a in actions}
    assert not set(ALLOWED) & set(REFUSED)


@pytest.mark.parametrize(("status", "action"), sorted(ALLOWED), ids="-".join)
def test_an_allowed_move_happens(college, clock, status, action):
    call = call_in(college, status)
    clock.shift(dt.timedelta(minutes=5))
    result = act(action, call, college.admin, **(EDIT if action == "update" else {}))
    call.refresh_from_db()
    assert call.status == ALLOWED[status, action] == result.status
    assert call.is_deleted == (action == "delete")
    assert call.last_actor == college.admin.person
    assert call.changed_at > call.created_at


@pytest.mark.parametrize(("status", "action"), sorted(REFUSED), ids="-".join)
def test_a_refused_move_says_why_and_changes_nothing(college, status, action):
    call = call_in(college, status)
    before = OnlineCall.objects.values().get(pk=call.pk)
    with pytest.raises(CallError) as refused:
        act(action, call, college.admin, **(EDIT if action == "update" else {}))
    assert refused.value.message == REFUSED[status, action]
    assert OnlineCall.objects.values().get(pk=call.pk) == before
    assert not AuditEvent.objects.exists()


def test_a_published_call_cannot_be_edited(college):
    call = call_in(college, "published")
    with pytest.raises(CallError, match="только звонок в статусе «Создан»"):
        act("update", call, college.admin, **EDIT)


def test_a_finished_call_cannot_be_published_again(college):
    call = call_in(college, "finished")
    with pytest.raises(CallError, match="Опубликовать можно только"):
        act("publish", call, college.admin)


def test_a_created_call_cannot_be_finished(college):
    call = call_in(college, "created")
    with pytest.raises(CallError, match="Завершить можно только"):
        act("finish", call, college.admin)


@pytest.mark.parametrize("status", ["created", "published", "finished"])
def test_a_call_can_be_deleted_from_every_status(college, status):
    call = act("delete", call_in(college, status), college.admin)
    assert call.is_deleted
    assert not OnlineCall.objects.alive().filter(pk=call.pk).exists()


@pytest.mark.parametrize("action", ["update", "publish", "finish", "delete"])
def test_nothing_can_be_done_to_a_deleted_call(college, action):
    call = call_in(college, "published")
    act("delete", call, college.admin)
    with pytest.raises(CallError) as refused:
        act(action, call, college.admin, **(EDIT if action == "update" else {}))
    assert refused.value.message == ALREADY_DELETED == "Звонок уже удалён"
    assert AuditEvent.objects.count() == 1  # the deletion only


@pytest.mark.parametrize(
    ("status", "icons"),
    [
        ("created", ["edit", "publish", "delete"]),
        ("published", ["finish", "delete"]),
        ("finished", ["delete"]),
    ],
)
def test_the_list_offers_the_actions_of_the_status(college, status, icons):
    assert call_in(college, status).allowed_actions == icons


def test_a_deleted_call_offers_no_action(college):
    call = factories.CallFactory(chat=college.custom_chat, deleted_at=college.org.created_at)
    assert call.allowed_actions == []


def test_a_full_life_created_published_finished_deleted(college):
    call = create(college)
    assert call.status == "created"
    assert act("publish", call, college.admin).status == "published"
    assert act("finish", call, college.admin).status == "finished"
    assert act("delete", call, college.admin).is_deleted
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["call_created", "call_published", "call_finished", "call_deleted"]


def test_the_database_keeps_one_published_call_per_chat(college):
    factories.CallFactory(chat=college.custom_chat, status="published")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CallFactory(chat=college.custom_chat, status="published")


def test_a_deleted_or_finished_published_call_does_not_count_for_the_database(college):
    chat = college.custom_chat
    factories.CallFactory(chat=chat, status="published", deleted_at=college.org.created_at)
    factories.CallFactory(chat=chat, status="finished")
    factories.CallFactory(chat=chat, status="published")
    factories.CallFactory(chat=college.group_chat, status="published")
    assert OnlineCall.objects.published().count() == 2


def test_the_database_refuses_a_published_call_without_its_moment(college):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CallFactory(chat=college.custom_chat, status="published", published_at=None)


def test_the_database_refuses_a_finished_call_without_its_moment(college):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CallFactory(chat=college.custom_chat, status="finished", finished_at=None)


def test_the_database_refuses_an_unknown_status(college):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CallFactory(chat=college.custom_chat, status="started")

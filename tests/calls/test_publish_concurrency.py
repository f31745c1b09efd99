"""F23 under concurrent clicks, on PostgreSQL: of several publishes in one chat at the same
moment exactly one wins, and the others get the seed's warning, never an error page."""

import threading

import pytest
from django.db import connection

from calls import services
from calls.models import OnlineCall
from calls.services import CallError
from epos_chats.models import AuditEvent, Chat
from tests import factories
from tests.calls.helpers import act

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(jobs):
    """Run the jobs in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            outcomes[index] = job()
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def warnings_and_wins(outcomes):
    wins = [o for o in outcomes if isinstance(o, OnlineCall)]
    warned = [o for o in outcomes if isinstance(o, CallError)]
    assert len(wins) + len(warned) == len(outcomes), outcomes  # nothing else, no 500
    return wins, warned


def test_of_several_calls_published_at_once_in_one_chat_exactly_one_wins(college):
    calls = [factories.CallFactory(chat=college.group_chat) for _ in range(6)]
    people = [college.admin, college.curator] * 3
    outcomes = at_once(
        [lambda c=c, p=p: act("publish", c, p) for c, p in zip(calls, people, strict=True)]
    )
    wins, warned = warnings_and_wins(outcomes)
    assert len(wins) == 1
    assert {str(w) for w in warned} == {services.ALREADY_PUBLISHED}
    assert list(OnlineCall.objects.published().values_list("pk", flat=True)) == [wins[0].pk]
    assert OnlineCall.objects.filter(status="created").count() == 5
    assert AuditEvent.objects.filter(action="call_published").count() == 1


def test_one_call_published_twice_at_once_is_published_once(college):
    call = factories.CallFactory(chat=college.custom_chat)
    outcomes = at_once([lambda: act("publish", call, college.admin)] * 2)
    wins, warned = warnings_and_wins(outcomes)
    assert len(wins) == 1
    assert "Опубликовать можно только звонок в статусе «Создан»" in str(warned[0])
    assert AuditEvent.objects.filter(action="call_published").count() == 1


def test_publishing_and_deleting_a_call_at_once_ends_in_a_clear_state(college):
    call = factories.CallFactory(chat=college.custom_chat)
    outcomes = at_once(
        [lambda: act("publish", call, college.admin), lambda: act("delete", call, college.curator)]
    )
    wins, warned = warnings_and_wins(outcomes)
    call.refresh_from_db()
    assert call.is_deleted
    # Publish first: both happen. Delete first: the publish finds the call gone.
    assert (len(wins), [str(w) for w in warned]) in [(2, []), (1, ["Звонок уже удалён"])]


def test_the_unique_index_alone_also_keeps_one_published_call(college, monkeypatch):
    """With the chat lock and the check both passed by, the index still decides and the
    losers still get the seed's warning."""
    monkeypatch.setattr(services, "_chat_has_published_call", lambda chat, besides: False)
    monkeypatch.setattr(services, "_chat", lambda chat_id, lock=False: Chat.objects.get(pk=chat_id))
    calls = [factories.CallFactory(chat=college.group_chat) for _ in range(4)]
    outcomes = at_once([lambda c=c: act("publish", c, college.admin) for c in calls])
    wins, warned = warnings_and_wins(outcomes)
    assert len(wins) == 1
    assert {str(w) for w in warned} == {services.ALREADY_PUBLISHED}
    assert OnlineCall.objects.published().count() == 1

"""F24: every night at 00:00 (the college's clock) the published calls whose date has passed
are finished — set-based, idempotent, one audit event each, other colleges untouched — and
`manage.py nightly` runs it after the rebuild of mandatory chats."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from calls.models import OnlineCall
from calls.services import finish_stale_calls
from epos_chats.models import AuditEvent
from epos_chats.nightly import run_nightly
from tests import factories
from tests.calls.helpers import MSK

pytestmark = pytest.mark.django_db

NOVOSIBIRSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")


def at(day, hour, minute=0, zone=MSK):
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=zone)


def published(chat, starts_at, **fields):
    return factories.CallFactory(
        chat=chat, status="published", starts_at=starts_at, created_at=at(1, 9), **fields
    )


def finish_now(org):
    return finish_stale_calls(org, now=timezone.now())


def status(call):
    call.refresh_from_db()
    return call.status


def test_a_call_at_23_00_yesterday_is_finished_at_midnight_and_not_before(college, clock):
    late = published(college.custom_chat, at(9, 23))
    clock.move_to(at(9, 23, 59))
    assert finish_now(college.org) == 0
    assert status(late) == "published"
    clock.move_to(at(10, 0))
    assert finish_now(college.org) == 1
    late.refresh_from_db()
    assert (late.status, late.finished_at, late.changed_at) == ("finished", at(10, 0), at(10, 0))


def test_a_call_of_today_is_not_finished(college, clock):
    clock.move_to(at(10, 0))
    first_thing = published(college.custom_chat, at(10, 0))
    later = published(college.group_chat, at(10, 23, 30))
    assert finish_now(college.org) == 0
    assert (status(first_thing), status(later)) == ("published", "published")


def test_the_day_is_the_colleges_not_utcs(college, clock):
    """01:30 in Moscow on the 10th is 22:30 UTC on the 9th: still today for the college."""
    clock.move_to(at(10, 0))
    early = published(college.custom_chat, dt.datetime(2026, 3, 9, 22, 30, tzinfo=dt.UTC))
    assert finish_now(college.org) == 0
    assert status(early) == "published"


def test_a_college_in_another_time_zone_finishes_at_its_own_midnight(college, clock):
    college.org.time_zone = "Asia/Novosibirsk"
    college.org.save()
    call = published(college.custom_chat, at(9, 23, zone=NOVOSIBIRSK))
    clock.move_to(at(10, 0, zone=NOVOSIBIRSK))  # 20:00 on the 9th in Moscow
    assert finish_now(college.org) == 1
    assert status(call) == "finished"


def test_finishing_twice_changes_nothing_the_second_time(college, clock):
    call = published(college.custom_chat, at(9, 12))
    clock.move_to(at(10, 0))
    assert finish_now(college.org) == 1
    clock.move_to(at(10, 0, 5))
    assert finish_now(college.org) == 0
    call.refresh_from_db()
    assert call.finished_at == at(10, 0)
    assert AuditEvent.objects.count() == 1


def test_only_published_live_calls_are_finished(college, clock):
    chat = college.custom_chat
    created = factories.CallFactory(chat=chat, starts_at=at(8, 12))
    deleted = published(chat, at(8, 12), deleted_at=at(8, 13))
    finished = factories.CallFactory(chat=chat, status="finished", starts_at=at(7, 12))
    clock.move_to(at(10, 0))
    assert finish_now(college.org) == 0
    assert [status(c) for c in (created, deleted, finished)] == ["created", "published", "finished"]


def test_another_colleges_calls_are_untouched(college, clock):
    ours = published(college.custom_chat, at(9, 12))
    theirs = published(college.other_chat, at(9, 12))
    clock.move_to(at(10, 0))
    assert finish_now(college.org) == 1
    assert (status(ours), status(theirs)) == ("finished", "published")


def test_each_finished_call_gets_one_audit_event_by_the_system(college, clock):
    one = published(college.custom_chat, at(9, 12))
    two = published(college.group_chat, at(8, 12), lesson=None)
    clock.move_to(at(10, 0))
    finish_now(college.org)
    events = AuditEvent.objects.order_by("object_id")
    assert [(e.object_id, e.actor, e.action, e.organization) for e in events] == [
        (one.pk, None, "call_finished", college.org),
        (two.pk, None, "call_finished", college.org),
    ]
    event = events[0]
    assert event.at == at(10, 0)
    assert event.before["status"] == "published" and event.after["status"] == "finished"
    assert event.after["title"] == one.title
    assert str(event) == f"система завершил онлайн-звонок «{one.title}»"


def test_the_last_person_who_acted_stays_on_a_call_the_night_finished(college, clock):
    call = published(college.custom_chat, at(9, 12))
    clock.move_to(at(10, 0))
    finish_now(college.org)
    call.refresh_from_db()
    assert call.last_actor == call.created_by


def test_the_work_does_not_grow_with_the_number_of_calls(
    college, clock, django_assert_max_num_queries
):
    chats = [factories.ChatFactory(organization=college.org) for _ in range(12)]
    for chat in chats:
        published(chat, at(9, 12))
    clock.move_to(at(10, 0))
    with django_assert_max_num_queries(6):
        assert finish_now(college.org) == 12
    assert OnlineCall.objects.filter(status="finished").count() == 12


def test_finished_calls_go_to_the_messenger_once_committed(
    college, clock, django_capture_on_commit_callbacks, monkeypatch, settings
):
    from vk_sync.tasks import push_call_task

    settings.VK_SYNC_ENABLED = True
    pushed = []
    monkeypatch.setattr(push_call_task, "delay", pushed.append)
    call = published(college.custom_chat, at(9, 12))
    clock.move_to(at(10, 0))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        finish_now(college.org)
    assert len(callbacks) == 1
    assert pushed == [call.pk]


# The nightly run ------------------------------------------------------------------------------


def nightly(*args):
    out = io.StringIO()
    call_command("nightly", *args, stdout=out)
    return out.getvalue()


def test_nightly_with_now_tomorrow_finishes_yesterdays_calls(college):
    """The clock reads 10 March; the run is told it is midnight of the 11th."""
    today = published(college.custom_chat, at(10, 15))
    tomorrow = published(college.group_chat, at(11, 9))
    out = nightly("--org", "kpt", "--now", "2026-03-11T00:00:00+03:00")
    assert "онлайн-звонки: завершено 1" in out
    assert (status(today), status(tomorrow)) == ("finished", "published")
    assert "онлайн-звонки: нечего завершать" in nightly(
        "--org", "kpt", "--now", "2026-03-11T00:00:00+03:00"
    )


def test_nightly_finishes_calls_after_the_rebuild(college, clock):
    published(college.custom_chat, at(9, 12))
    report = run_nightly(college.org, now=at(10, 0))
    assert report.lines[0].startswith("обязательные чаты")
    assert report.lines[1] == "онлайн-звонки: завершено 1"


def test_nightly_finishes_calls_even_when_the_rebuild_stops(college, settings):
    published(college.custom_chat, at(9, 12))
    run_nightly(college.org, now=at(10, 0))
    college.org.students.update(is_active=False)
    published(college.group_chat, at(10, 12))
    settings.MASS_REMOVAL_THRESHOLD = 0.0
    report = run_nightly(college.org, now=at(11, 0))
    assert report.stopped
    assert "онлайн-звонки: завершено 1" in report.lines

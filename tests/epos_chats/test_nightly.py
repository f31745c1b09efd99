"""F29: `manage.py nightly` and the beat fan-out, in each college's own time."""

import datetime as dt
import io
import threading
import zoneinfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from config.celery import app
from epos_chats import tasks
from epos_chats.models import Chat, ChatMember, RebuildRun
from tests import factories

pytestmark = pytest.mark.django_db

MSK = zoneinfo.ZoneInfo("Europe/Moscow")


def college(code, time_zone="Europe/Moscow"):
    org = factories.OrganizationFactory(code=code, time_zone=time_zone)
    curator = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org, name=f"{code}-11", curators=[curator])
    factories.StudentFactory(organization=org, group=group)
    return org


def nightly(*args):
    out = io.StringIO()
    call_command("nightly", *args, stdout=out)
    return out.getvalue()


def test_nightly_rebuilds_every_college_and_says_what_changed():
    college("kpt"), college("kmt")
    first = nightly()
    assert first.count("чатов создано 3") == 2
    assert Chat.objects.count() == 6


def test_a_second_nightly_reports_no_change():
    college("kpt")
    nightly()
    assert "без изменений" in nightly()


def test_nightly_full_compares_the_chats_of_a_college_whose_directory_did_not_change():
    org = college("kpt")
    nightly()
    ChatMember.objects.filter(chat__organization=org, chat__kind="group").delete()
    assert "без изменений" in nightly()
    assert "участников добавлено 2" in nightly("--full")


def test_nightly_can_be_limited_to_one_college():
    college("kpt"), college("kmt")
    nightly("--org", "kpt")
    assert set(Chat.objects.values_list("organization__code", flat=True)) == {"kpt"}


def test_an_unknown_college_code_is_a_clear_error():
    with pytest.raises(CommandError, match="nope"):
        nightly("--org", "nope")


def test_now_sets_the_moment_recorded_on_changes():
    college("kpt")
    nightly("--now", "2026-12-01T00:00:00+03:00")
    assert Chat.objects.first().changed_at == dt.datetime(2026, 12, 1, tzinfo=MSK)


def test_a_malformed_now_is_a_clear_error():
    with pytest.raises(CommandError, match="ISO 8601"):
        nightly("--now", "завтра")


def test_a_stopped_rebuild_is_reported(settings):
    org = college("kpt")
    nightly()
    org.students.update(is_active=False)
    settings.MASS_REMOVAL_THRESHOLD = 0.1
    out = nightly()
    assert "Остановлено по порогу: 1" in out
    assert RebuildRun.objects.filter(status="stopped").exists()


def test_beat_wakes_hourly_for_the_fan_out():
    entry = app.conf.beat_schedule["nightly-fanout"]
    assert entry["task"] == "epos_chats.tasks.nightly_fanout"
    assert entry["schedule"].hour == set(range(24)) and entry["schedule"].minute == {0}


def test_the_fan_out_runs_only_colleges_whose_clock_shows_midnight():
    college("msk"), college("nsk", time_zone="Asia/Novosibirsk")
    moscow_midnight = dt.datetime(2026, 12, 1, 0, 0, tzinfo=MSK)
    assert tasks.nightly_fanout(moscow_midnight.isoformat()) == 1  # tasks run eagerly in tests
    assert set(Chat.objects.values_list("organization__code", flat=True)) == {"msk"}
    novosibirsk_midnight = dt.datetime(
        2026, 12, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Novosibirsk")
    )
    assert tasks.nightly_fanout(novosibirsk_midnight.isoformat()) == 1
    assert Chat.objects.filter(organization__code="nsk").count() == 3


def test_the_college_task_for_a_vanished_college_does_nothing():
    assert tasks.nightly_for_organization(987654) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_nightly_runs_at_once_for_one_college_end_in_one_set_of_chats():
    org = college("kpt")
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            tasks.nightly_for_organization(org.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Chat.objects.filter(organization=org).count() == 3
    statuses = sorted(RebuildRun.objects.values_list("status", flat=True))
    assert statuses == ["applied", "unchanged"]


def test_the_nightly_jobs_leave_the_colleges_monitoring_summary_counted():
    from reports.models import CollegeSummary

    org = college("kpt")
    before = timezone.now()
    nightly()
    summary = CollegeSummary.objects.get(organization=org)
    assert summary.computed_at >= before


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks.py
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name

"""The region's «Мониторинг» reads stored summaries (issue 9): they equal a live count, say how
old they are, and are recounted on schedule, after a college's night and on «Обновить» — by
region administrators only, once a minute at most, one count at a time."""

import csv
import dataclasses
import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from directory.models import Organization
from reports import selectors, services, tasks
from reports.models import CollegeSummary
from tests import factories
from tests.reports.conftest import MSK, NOW, at, call, linked


def region_url():
    return reverse("reports:region")


def refresh_url():
    return reverse("reports:region_refresh")


def summary_of(organization):
    return CollegeSummary.objects.get(organization=organization)


def said(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def live_region(now=None):
    organizations = Organization.objects.all()
    zones = set(organizations.values_list("time_zone", flat=True))
    figures = selectors.college_figures(organizations, zones=zones, now=now)
    weeks = selectors.calls_per_week(organizations, zone=selectors.region_zone(), now=now)
    return selectors.sort_colleges(figures, "overall"), weeks


def without_time(figures):
    return [dataclasses.replace(f, as_of=None) for f in figures]


# The figures --------------------------------------------------------------------------------


def test_region_figures_equal_a_live_count_of_every_college(college):
    services.summarize_colleges()
    stored = selectors.region_report()
    colleges, weeks = live_region()
    assert without_time(stored.colleges) == colleges
    assert stored.weeks == weeks
    assert {c.as_of for c in stored.colleges} == {NOW}
    # …and the live count is the one counted by hand in conftest.college.
    kpt = next(c for c in stored.colleges if c.organization == college.org)
    assert {s.key: (s.total, s.linked) for s in kpt.shares} == {
        "staff": (4, 2),
        "teachers": (2, 1),
        "students": (3, 2),
        "parents": (3, 2),
    }
    assert (kpt.groups_without_curator, kpt.chats_without_linked_admin) == (1, 2)
    assert kpt.chats_with_call_this_week == 2
    assert (kpt.sync.last_status, kpt.sync.failed_chats, kpt.sync.failed_calls) == (
        "errors",
        1,
        1,
    )


def test_a_college_in_another_time_zone_is_summarized_on_its_own_clock(college):
    Organization.objects.filter(pk=college.org.pk).update(time_zone="Asia/Vladivostok")
    services.summarize_colleges()
    colleges, _ = live_region()
    assert without_time(selectors.region_report().colleges) == colleges


def test_a_college_with_no_push_yet_says_there_was_none(college):
    services.summarize_colleges()
    kmt = next(c for c in selectors.region_report().colleges if c.organization == college.other)
    assert kmt.sync.last_status is None
    assert kmt.sync.last_status_label == "не было"


def test_region_weeks_line_up_when_colleges_were_counted_in_different_weeks(college, clock):
    # Sunday evening every college is counted; after Monday's 00:00 only КПТ is, after a call
    # published that night.
    clock.move_to(at(15, 20))
    services.summarize_colleges()
    clock.move_to(at(16, 1))
    call(
        college.discipline_chat,
        status="finished",
        published_at=at(16, 0),
        starts_at=at(16, 0),
        finished_at=at(16, 1),
    )
    services.summarize_college(college.org)
    weeks = selectors.region_report().weeks
    assert len(weeks) == selectors.WEEKS
    assert [(w.start.isoformat(), w.calls) for w in weeks[-2:]] == [
        ("2026-03-09", 3),
        ("2026-03-16", 1),
    ]
    # Nothing has happened at КМТ since Sunday: the live count agrees.
    assert weeks == live_region()[1]


# How old they are ---------------------------------------------------------------------------


def test_region_page_says_when_its_figures_were_counted(college, region_admin, as_person, clock):
    services.summarize_colleges()
    clock.shift(dt.timedelta(minutes=7))
    page = as_person(region_admin).get(region_url()).content.decode()
    assert "Данные на 10.03.2026 10:00." in page
    assert "давно не пересчитывались" not in page


def test_figures_older_than_the_schedule_allows_are_marked_stale(
    college, region_admin, as_person, clock
):
    services.summarize_colleges()
    clock.shift(selectors.STALE_AFTER + dt.timedelta(minutes=1))
    page = as_person(region_admin).get(region_url()).content.decode()
    assert "Данные на 10.03.2026 10:00 — давно не пересчитывались." in page


def test_the_oldest_summary_dates_the_page(college, region_admin, as_person, clock):
    services.summarize_colleges()
    clock.shift(dt.timedelta(hours=2))
    services.summarize_college(college.org)
    page = as_person(region_admin).get(region_url()).content.decode()
    assert "Данные на 10.03.2026 10:00" in page


def test_a_change_after_the_count_shows_at_the_next_one_while_the_college_page_counts_live(
    college, region_admin, as_person, clock
):
    services.summarize_colleges()
    linked(college.s2)
    client = as_person(region_admin)
    assert "3 из 3" not in client.get(region_url()).content.decode()
    # The college's own page is never a summary.
    college_page = client.get(reverse("reports:college", args=[college.org.pk])).content.decode()
    assert "3 из 3" in college_page
    assert "на момент открытия страницы" in college_page
    clock.shift(dt.timedelta(minutes=11))
    services.summarize_colleges()
    page = client.get(region_url()).content.decode()
    assert "3 из 3" in page
    assert "Данные на 10.03.2026 10:11." in page


def test_a_renamed_college_is_shown_under_its_new_name_at_once(college, region_admin, as_person):
    services.summarize_colleges()
    client = as_person(region_admin)
    assert "КПТ" in client.get(region_url()).content.decode()
    Organization.objects.filter(pk=college.org.pk).update(short_name="КПТиС")
    assert "КПТиС" in client.get(region_url()).content.decode()


def test_a_new_college_appears_on_the_region_page_at_once(college, region_admin, as_person):
    services.summarize_colleges()
    new = factories.OrganizationFactory(code="knk", short_name="КНК", name="ГБПОУ КНК")
    factories.StaffMemberFactory(organization=new, is_admin=True)
    page = as_person(region_admin).get(region_url()).content.decode()
    assert reverse("reports:college", args=[new.pk]) in page
    assert summary_of(new).staff_total == 1


def test_region_csv_says_when_each_college_was_counted(college, region_admin, as_person, clock):
    services.summarize_colleges()
    clock.shift(dt.timedelta(minutes=3))
    response = as_person(region_admin).get(reverse("reports:region_csv", args=["colleges"]))
    assert "monitoring-region-colleges-20260310-1000.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-1] == "Данные на"
    assert {row[-1] for row in rows[1:]} == {"10.03.2026 10:00"}


# Who recounts them --------------------------------------------------------------------------


def test_a_later_count_is_never_overwritten_by_an_earlier_one(college, clock):
    later = NOW + dt.timedelta(minutes=10)
    clock.move_to(later)
    services.summarize_college(college.org)
    clock.move_to(NOW)
    services.summarize_colleges()
    assert summary_of(college.org).computed_at == later
    assert summary_of(college.other).computed_at == NOW


def test_a_colleges_nightly_summary_leaves_the_other_colleges_as_they_were(college, clock):
    services.summarize_colleges()
    linked(college.s2)
    factories.StaffMemberFactory(organization=college.other)
    clock.shift(dt.timedelta(hours=14))
    services.summarize_college(college.org)
    kpt, kmt = summary_of(college.org), summary_of(college.other)
    assert kpt.computed_at == NOW + dt.timedelta(hours=14)
    assert kpt.students_linked == 3
    assert kmt.computed_at == NOW
    assert kmt.staff_total == 1


def test_scheduled_recount_skips_summaries_younger_than_half_its_period(college, clock):
    assert tasks.refresh_region_summaries() == "refreshed"
    clock.shift(selectors.REFRESH_EVERY / 2 - dt.timedelta(seconds=1))
    assert tasks.refresh_region_summaries() == "fresh"
    clock.shift(dt.timedelta(seconds=2))
    assert tasks.refresh_region_summaries() == "refreshed"
    later = NOW + selectors.REFRESH_EVERY / 2 + dt.timedelta(seconds=1)
    assert summary_of(college.org).computed_at == later


def test_scheduled_recount_counts_a_college_without_a_summary_however_fresh_the_rest(
    college, clock
):
    services.summarize_colleges()
    new = factories.OrganizationFactory(code="knk")
    assert tasks.refresh_region_summaries() == "refreshed"
    assert summary_of(new).computed_at == NOW


def test_college_summary_task_of_a_removed_college_does_nothing(db):
    tasks.summarize_college(10**9)
    assert not CollegeSummary.objects.exists()


# «Обновить» ---------------------------------------------------------------------------------


def test_refresh_recounts_the_region_now_and_says_so(college, region_admin, as_person, clock):
    services.summarize_colleges()
    linked(college.s2)
    clock.shift(dt.timedelta(minutes=2))
    response = as_person(region_admin).post(refresh_url(), {"sort": "name"}, follow=True)
    assert response.redirect_chain == [(region_url() + "?sort=name", 302)]
    assert said(response) == ["Пересчитано: данные на 10.03.2026 10:02."]
    page = response.content.decode()
    assert "Данные на 10.03.2026 10:02." in page
    assert "3 из 3" in page
    assert summary_of(college.org).students_linked == 3


def test_refresh_within_a_minute_of_the_last_count_does_not_recount(
    college, region_admin, as_person, clock
):
    services.summarize_colleges()
    linked(college.s2)
    clock.shift(dt.timedelta(seconds=30))
    client = as_person(region_admin)
    response = client.post(refresh_url(), follow=True)
    assert said(response) == [
        "Данные на 10.03.2026 10:00 только что пересчитаны: обновить их снова можно через минуту."
    ]
    assert summary_of(college.org).computed_at == NOW
    assert summary_of(college.org).students_linked == 2
    clock.shift(services.REFRESH_MIN_INTERVAL)
    response = client.post(refresh_url(), follow=True)
    assert said(response) == ["Пересчитано: данные на 10.03.2026 10:01."]
    assert summary_of(college.org).students_linked == 3


@pytest.mark.parametrize("who", ["admin", "teacher", "s1", "g1"])
def test_refresh_is_for_region_administrators_only(college, as_person, clock, who):
    services.summarize_colleges()
    clock.shift(dt.timedelta(hours=1))
    response = as_person(getattr(college, who)).post(refresh_url())
    assert response.status_code == 403
    assert summary_of(college.org).computed_at == NOW


def test_refresh_needs_a_sign_in_and_a_post(college, region_admin, client, as_person):
    response = client.post(refresh_url())
    assert response.status_code == 302
    assert "/login" in response["Location"]
    assert as_person(region_admin).get(refresh_url()).status_code == 405
    assert not CollegeSummary.objects.exists()


def test_refresh_while_another_count_runs_leaves_the_previous_figures(
    college, region_admin, as_person, clock, monkeypatch
):
    services.summarize_colleges()
    clock.shift(dt.timedelta(minutes=5))
    monkeypatch.setattr(services, "_lock", lambda *, wait: False)
    response = as_person(region_admin).post(refresh_url(), follow=True)
    assert said(response) == ["Данные уже пересчитываются: обновите страницу через минуту."]
    assert "Данные на 10.03.2026 10:00." in response.content.decode()
    assert summary_of(college.org).computed_at == NOW


@pytest.mark.postgres
def test_one_count_of_the_region_at_a_time(college, clock):
    """Another process holding the count lock: the refresh gives way at once, and the page
    goes on reading the summaries it had."""
    services.summarize_colleges()
    clock.shift(dt.timedelta(minutes=5))
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [services._LOCK_KEY])
        result = services.refresh_region()
        assert result.outcome is services.Outcome.BUSY
        assert result.as_of == NOW
        assert summary_of(college.org).computed_at == NOW
    finally:
        other.close()
    assert services.refresh_region().outcome is services.Outcome.REFRESHED
    assert summary_of(college.org).computed_at == NOW + dt.timedelta(minutes=5)


# Constant cost ------------------------------------------------------------------------------


def _add_colleges(count):
    for n in range(count):
        org = factories.OrganizationFactory(code=f"extra-{n}", time_zone="Asia/Yekaterinburg")
        staff = factories.StaffMemberFactory(organization=org, is_admin=True)
        group = factories.GroupFactory(organization=org, curators=[staff])
        student = factories.StudentFactory(group=group)
        factories.GuardianFactory(organization=org, children=[student])
        chat = factories.ChatFactory(organization=org, kind="group", group=group)
        factories.CallFactory(chat=chat, status="published", published_at=NOW.astimezone(MSK))


# The lock (PostgreSQL), the freshness check, the zones and the INSERT … SELECT (after its
# SET LOCAL on PostgreSQL), in savepoints.
REFRESH_QUERIES = 9
# Sign-in, session and organizations (the middleware), then the page's own: the region
# administrator's row and the summaries' version.
REGION_QUERIES = 5


@pytest.mark.parametrize("extra", [0, 4])
def test_recounting_the_region_costs_the_same_queries_however_many_colleges(
    college, django_assert_max_num_queries, extra
):
    _add_colleges(extra)
    with django_assert_max_num_queries(REFRESH_QUERIES):
        result = services.refresh_region()
    assert result.outcome is services.Outcome.REFRESHED
    assert CollegeSummary.objects.count() == 2 + extra


@pytest.mark.parametrize("extra", [0, 4])
def test_region_page_after_a_recount_costs_the_same_queries_however_many_colleges(
    college, region_admin, as_person, django_assert_max_num_queries, extra
):
    # The first view after a recount draws the tables (one query more than the next views).
    _add_colleges(extra)
    services.summarize_colleges()
    client = as_person(region_admin)
    with django_assert_max_num_queries(REGION_QUERIES + 1):
        assert client.get(region_url()).status_code == 200
    with django_assert_max_num_queries(REGION_QUERIES):
        assert client.get(region_url()).status_code == 200

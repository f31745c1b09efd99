"""Each figure of «Мониторинг» against the numbers counted by hand in conftest.college."""

import pytest

from directory.models import Organization
from reports import selectors, services


@pytest.fixture
def report(college):
    return selectors.college_report(college.org)


def shares(figures):
    return {s.key: (s.total, s.linked) for s in figures.shares}


def test_share_of_staff_teachers_students_and_parents_linked_to_vk_id(report):
    assert shares(report.figures) == {
        "staff": (4, 2),
        "teachers": (2, 1),
        "students": (3, 2),
        "parents": (3, 2),
    }
    assert report.figures.share("staff").percent == 50.0
    assert report.figures.share("students").percent == 66.7
    assert report.figures.overall.total == 12
    assert report.figures.overall.linked == 7


def test_a_share_below_100_percent_falls_short_and_says_how_many_are_missing(report):
    teachers = report.figures.share("teachers")
    assert teachers.falls_short
    assert teachers.missing == 1


def test_a_fully_linked_share_is_on_target():
    share = selectors.Share("x", "x", 3, 3)
    assert not share.falls_short
    assert share.percent == 100.0


def test_an_empty_share_is_not_short_and_sorts_last():
    empty = selectors.Share("x", "x", 0, 0)
    assert empty.percent is None
    assert not empty.falls_short
    assert empty.sort_value > selectors.Share("y", "y", 1, 1).sort_value


def test_groups_have_their_shares_and_the_worst_comes_first(report):
    rows = [
        (r.group.name, r.students.total, r.students.linked, r.parents.total, r.parents.linked)
        for r in report.groups
    ]
    assert rows == [("ИС-11", 2, 1, 2, 1), ("ИС-21", 1, 1, 1, 1)]


def test_groups_sort_by_name(report):
    names = [r.group.name for r in selectors.sort_groups(report.groups, "name")]
    assert names == ["ИС-11", "ИС-21"]


def test_group_without_curator_has_no_mandatory_chats(report, college):
    assert report.figures.groups == 2
    assert report.figures.groups_without_curator == 1
    (row,) = report.uncurated_groups
    assert row.group == college.group_b
    assert not row.has_curator and not row.has_group_chat and not row.has_parents_chat


def test_messenger_chats_without_a_linked_admin(report, college):
    assert report.figures.chats == 4
    assert report.figures.chats_without_linked_admin == 2
    assert {c.pk for c in report.chats_without_linked_admin} == {
        college.custom_chat.pk,
        college.discipline_chat.pk,
    }


def test_chats_with_a_published_call_this_week(report):
    # The group chat (published, Wednesday) and the custom chat (finished, Monday); not the
    # unpublished, the deleted or last week's.
    assert report.figures.chats_with_call_this_week == 2
    assert report.figures.chats_with_call_percent == 50.0


def test_calls_published_per_week_for_eight_weeks(report):
    assert [w.calls for w in report.weeks] == [0, 0, 0, 0, 0, 0, 1, 2]
    assert report.weeks[-1].start.isoformat() == "2026-03-09"
    assert report.weeks[0].start.isoformat() == "2026-01-19"


def test_messenger_sync_state(report):
    sync = report.figures.sync
    assert sync.last_status == "errors"
    assert sync.last_status_label == "с ошибками"
    assert (sync.failed_chats, sync.failed_calls) == (1, 1)
    assert sync.falls_short


def test_region_sums_the_colleges_and_puts_the_worst_first(college):
    services.summarize_colleges()
    report = selectors.region_report()
    assert [c.organization.code for c in report.colleges] == ["kpt", "kmt"]
    assert {s.key: (s.total, s.linked) for s in report.shares} == {
        "staff": (5, 3),
        "teachers": (2, 1),
        "students": (3, 2),
        "parents": (3, 2),
    }
    kmt = report.colleges[1]
    assert kmt.chats_without_linked_admin == 0
    assert kmt.sync.last_status is None
    assert [w.calls for w in report.weeks][-2:] == [1, 3]


def test_college_in_another_time_zone_counts_its_own_week(college):
    # In Vladivostok (UTC+10) the week began at 9 March 00:00 local = 8 March 17:00 MSK.
    Organization.objects.filter(pk=college.org.pk).update(time_zone="Asia/Vladivostok")
    college.org.refresh_from_db()
    report = selectors.college_report(college.org)
    assert report.figures.chats_with_call_this_week == 2

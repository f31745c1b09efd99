"""B4, the reader's side: the OO admin's audit log, its filters, pages and CSV."""

import csv
import io

import pytest
from django.urls import reverse

from epos_chats.models import AuditEvent
from reports import audit
from tests.reports.conftest import at

A = AuditEvent.Action


def event(college, *, actor, action, obj, when, org=None):
    return AuditEvent.objects.create(
        organization=org or college.org,
        actor=actor.person if actor else None,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        object_repr=str(obj),
        at=when,
    )


@pytest.fixture
def log(college):
    return {
        "created": event(
            college,
            actor=college.teacher2,
            action=A.CHAT_CREATED,
            obj=college.custom_chat,
            when=at(2, 10),
        ),
        "renamed": event(
            college,
            actor=college.admin,
            action=A.CHAT_RENAMED,
            obj=college.custom_chat,
            when=at(5, 10),
        ),
        "call": event(
            college,
            actor=college.teacher,
            action=A.CALL_PUBLISHED,
            obj=college.this_week,
            when=at(10, 9),
        ),
        "system": event(
            college, actor=None, action=A.CALL_FINISHED, obj=college.finished, when=at(9, 23)
        ),
        "elsewhere": event(
            college,
            actor=college.other_admin,
            action=A.CHAT_CREATED,
            obj=college.other_chat,
            when=at(6, 10),
            org=college.other,
        ),
    }


def keys(log, rows):
    names = {event.pk: name for name, event in log.items()}
    return [names[event.pk] for event in rows]


def page(client, **params):
    return client.get(reverse("reports:audit"), params)


def test_the_log_shows_the_college_events_newest_first(college, log):
    assert keys(log, audit.events(college.org)) == ["call", "system", "renamed", "created"]


def test_filter_by_person(college, log):
    rows = audit.events(college.org, person=college.admin.person)
    assert keys(log, rows) == ["renamed"]


def test_filter_by_chat_includes_its_calls(college, log):
    assert keys(log, audit.events(college.org, chat=college.custom_chat)) == [
        "system",
        "renamed",
        "created",
    ]
    assert keys(log, audit.events(college.org, chat=college.group_chat)) == ["call"]


def test_filter_by_action(college, log):
    assert keys(log, audit.events(college.org, action=A.CHAT_CREATED)) == ["created"]


def test_filter_by_date_range_on_the_college_clock(college, log):
    rows = audit.events(college.org, date_from=at(5, 0).date(), date_to=at(9, 0).date())
    assert keys(log, rows) == ["system", "renamed"]


def test_the_page_filters_by_the_form(college, log, as_person):
    client = as_person(college.admin)
    response = page(client, person=college.admin.person.pk, action=A.CHAT_RENAMED)
    assert [e.pk for e in response.context["page"].object_list] == [log["renamed"].pk]
    response = page(client, chat=college.custom_chat.pk, date_from="2026-03-03")
    assert len(response.context["page"].object_list) == 2


def test_a_chat_of_another_college_is_not_a_valid_filter(college, log, as_person):
    response = page(as_person(college.admin), chat=college.other_chat.pk)
    assert response.status_code == 200
    assert not response.context["page"].object_list
    assert response.context["form"].errors


def test_the_log_is_paged(college, as_person, django_assert_max_num_queries):
    for _ in range(audit.PAGE_SIZE + 1):
        event(
            college,
            actor=college.admin,
            action=A.CHAT_RENAMED,
            obj=college.custom_chat,
            when=at(3, 10),
        )
    client = as_person(college.admin)
    first = page(client)
    assert len(first.context["page"].object_list) == audit.PAGE_SIZE
    assert "page=2" in first.content.decode()
    with django_assert_max_num_queries(20):
        second = page(client, page=2)
    assert len(second.context["page"].object_list) == 1


@pytest.mark.parametrize("who", ["teacher", "s1", "g1"])
def test_only_oo_admins_see_the_log(college, as_person, who):
    client = as_person(getattr(college, who))
    assert client.get(reverse("reports:audit")).status_code == 403
    assert client.get(reverse("reports:audit_csv")).status_code == 403


def test_the_log_exports_to_csv_with_its_filters(college, log, as_person):
    response = as_person(college.admin).get(
        reverse("reports:audit_csv"), {"chat": college.custom_chat.pk}
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Когда", "Кто", "Действие", "Объект", "Название"]
    assert [row[2] for row in rows[1:]] == [
        "завершил онлайн-звонок",
        "переименовал чат",
        "создал чат",
    ]
    assert rows[1][1] == "система"
    assert rows[2][1] == college.admin.person.full_name

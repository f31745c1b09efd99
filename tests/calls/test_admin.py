"""Django admin of online calls: the pages open, calls are found by name and chat, filtered by
status, college and deletion, the list costs the same whatever its length, and nothing can be
changed there — changes go through the services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import OnlineCall
from tests import factories
from tests.calls.helpers import NOW, person

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:calls_onlinecall_changelist")


@pytest.fixture
def support(client):
    staff = person("support", "Поддержкин Семён Семёнович")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return staff


@pytest.fixture
def calls(college):
    return [
        factories.CallFactory(chat=college.custom_chat, title="Классный час"),
        factories.CallFactory(chat=college.group_chat, title="Собрание", status="published"),
        factories.CallFactory(chat=college.other_chat, title="Чужой", status="finished"),
        factories.CallFactory(chat=college.custom_chat, title="Отменённый", deleted_at=NOW),
    ]


def titles(response):
    return sorted(call.title for call in response.context["cl"].result_list)


def test_the_list_shows_every_call_with_its_chat_status_and_last_actor(client, support, calls):
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert titles(response) == ["Классный час", "Отменённый", "Собрание", "Чужой"]
    page = response.content.decode()
    for text in ("Кружок КПТ", "Группа ИС-11", "Опубликован", "Завершён", "КМТ"):
        assert text in page
    assert calls[0].last_actor.full_name in page


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("q=Собрание", ["Собрание"]),
        ("q=Кружок", ["Классный час", "Отменённый"]),
        ("status__exact=published", ["Собрание"]),
        ("deleted=yes", ["Отменённый"]),
        ("deleted=no", ["Классный час", "Собрание", "Чужой"]),
    ],
)
def test_calls_are_found_and_filtered(client, support, calls, query, found):
    assert titles(client.get(f"{CHANGELIST}?{query}")) == found


def test_calls_are_filtered_by_college(client, support, college, calls):
    response = client.get(f"{CHANGELIST}?chat__organization__id__exact={college.other_org.pk}")
    assert titles(response) == ["Чужой"]


def test_the_list_costs_the_same_for_one_call_and_for_many(
    client, support, college, django_assert_num_queries
):
    factories.CallFactory(chat=college.custom_chat)
    with CaptureQueriesContext(connection) as one:
        client.get(CHANGELIST)
    for _ in range(10):
        factories.CallFactory(chat=factories.ChatFactory(organization=college.org))
    with django_assert_num_queries(len(one)):
        client.get(CHANGELIST)


def test_a_call_opens_for_viewing_only(client, support, calls):
    response = client.get(reverse("admin:calls_onlinecall_change", args=[calls[1].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Собрание" in page and 'name="_save"' not in page


def test_calls_cannot_be_added_changed_or_deleted_in_admin(client, support, calls):
    call = calls[0]
    assert client.get(reverse("admin:calls_onlinecall_add")).status_code == 403
    assert client.get(reverse("admin:calls_onlinecall_delete", args=[call.pk])).status_code == 403
    response = client.post(
        reverse("admin:calls_onlinecall_change", args=[call.pk]), {"title": "Взлом"}
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.title == "Классный час"
    assert OnlineCall.objects.count() == 4

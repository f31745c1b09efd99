"""The marks of «Сообщения» in the menu (epos_chats/menu.py): a new online call and the unread
ЭПОС messages are read together, once a request, and each says what it did before."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.marks import has_unseen_call
from epos_chats import menu, messaging
from epos_chats.messaging_marks import EposUnread
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def college():
    org = factories.OrganizationFactory()
    group = factories.GroupFactory(organization=org)
    curator = factories.StaffMemberFactory(organization=org)
    group.curators.set([curator])
    parent = factories.GuardianFactory(
        organization=org, children=[factories.StudentFactory(organization=org, group=group)]
    )
    return {"org": org, "curator": curator.person, "parent": parent.person}


def request_of(person, organization):
    request = RequestFactory().get("/")
    request.user, request.organization = person, organization
    return request


def unread_and_a_call(college):
    from directory.selectors import roles_of

    chat = messaging.start_direct(
        actor=college["parent"],
        roles=roles_of(college["parent"], college["org"]),
        organization=college["org"],
        other=college["curator"],
    ).chat
    messaging.send_message(actor=college["parent"], chat=chat, text="Здравствуйте")
    messaging.send_message(actor=college["parent"], chat=chat, text="Вопрос о практике")
    vk_chat = factories.ChatFactory(organization=college["org"])
    factories.ChatMemberFactory(chat=vk_chat, person=college["curator"])
    factories.CallFactory(chat=vk_chat, status="published")


def test_both_marks_come_from_one_query_asked_once_a_request(college):
    unread_and_a_call(college)
    request = request_of(college["curator"], college["org"])
    with CaptureQueriesContext(connection) as queries:
        assert has_unseen_call(request) is True
        assert EposUnread(request).count == 2
        assert EposUnread(request).shown and has_unseen_call(request)
    assert len(queries) == 1


def test_nothing_new_reads_as_no_marks(college):
    request = request_of(college["parent"], college["org"])
    assert has_unseen_call(request) is False
    assert EposUnread(request).count == 0


def test_without_a_college_the_marks_ask_nothing(college):
    request = request_of(college["curator"], None)
    with CaptureQueriesContext(connection) as queries:
        assert menu.mark(request, menu.UNSEEN_CALL) is False
        assert menu.mark(request, menu.UNREAD) == 0
    assert len(queries) == 0


def test_a_page_with_the_menu_reads_both_marks_in_one_query(client, college):
    unread_and_a_call(college)
    client.force_login(college["curator"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("calls:calendar"))
    assert response.status_code == 200
    marks = [
        q for q in queries if "calls_onlinecall" in q["sql"] and "epos_chats_message" in q["sql"]
    ]
    assert len(marks) == 1
    assert 'aria-label="Новый онлайн-звонок"' in response.text

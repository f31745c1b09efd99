"""F27: a member of a chat where a call was published after their last visit to the VK block of
«Чаты» sees a mark next to «Сообщения» (and on the profile's envelope); opening the block clears
it. One query a page, however many chats."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls import services
from calls.models import CallsSeen, OnlineCall
from epos_chats.models import Chat, ChatMember
from tests import factories
from tests.calls.helpers import NOW, act, create, person_of

pytestmark = pytest.mark.django_db

MARK = 'aria-label="Новый онлайн-звонок"'
DESKTOP = "/"
CHATS = "/chats/"


def marks(client, role, url=DESKTOP):
    """How many marks the page shows the person: two (menu and envelope) or none."""
    client.force_login(person_of(role))
    response = client.get(url)
    assert response.status_code == 200
    return response.text.count(MARK)


def published(college, chat=None, by=None):
    return act("publish", create(college, chat=chat), by or college.admin)


def test_a_member_sees_the_mark_after_a_call_is_published_in_his_chat(client, college):
    assert marks(client, college.student) == 0
    published(college)
    assert marks(client, college.student) == 2


def test_the_mark_is_next_to_soobshcheniya_and_on_the_envelope(client, college):
    published(college)
    client.force_login(person_of(college.student))
    html = " ".join(client.get(DESKTOP).text.split())
    menu = html.split('<nav class="sidebar"', 1)[1]
    assert "<span>Сообщения</span>" in menu.split(MARK, 1)[0]
    envelope = html.split('class="profile__icon"', 1)[1].split("</a>", 1)[0]
    assert 'class="calls-mark calls-mark--on-icon" role="img"' in envelope


def test_opening_the_vk_block_clears_the_mark(client, college):
    published(college)
    assert marks(client, college.student) == 2
    assert marks(client, college.student, CHATS) == 0
    assert marks(client, college.student) == 0
    assert CallsSeen.objects.get(person=person_of(college.student)).seen_at == NOW


def test_a_call_published_after_the_visit_brings_the_mark_back(client, college, clock):
    act("finish", published(college), college.admin)
    marks(client, college.student, CHATS)
    clock.shift(dt.timedelta(minutes=5))
    published(college, chat=college.group_chat)
    assert marks(client, college.student) == 2


def test_a_call_published_before_the_visit_does_not_bring_it_back(client, college, clock):
    published(college)
    marks(client, college.student, CHATS)
    clock.shift(dt.timedelta(minutes=5))
    create(college, chat=college.group_chat)  # created, not published: no news
    assert marks(client, college.student) == 0


def test_the_epos_block_alone_does_not_clear_the_mark(client, college):
    published(college)
    assert marks(client, college.student, CHATS + "?expand=epos") == 2
    assert marks(client, college.student) == 2


def test_a_person_who_never_opened_the_block_sees_any_live_published_call(client, college):
    published(college)
    assert not CallsSeen.objects.exists()
    assert marks(client, college.curator) == 2


def test_the_publisher_gets_no_mark_for_his_own_call(client, college):
    published(college, by=college.curator)
    assert marks(client, college.curator) == 0
    assert marks(client, college.student) == 2


def test_a_finished_or_deleted_call_leaves_no_mark(client, college):
    act("finish", published(college), college.admin)
    act("delete", published(college, chat=college.group_chat), college.admin)
    assert marks(client, college.student) == 0


def test_those_outside_the_chat_see_no_mark(client, college):
    published(college)
    assert marks(client, college.outsider) == 0
    # The OO admin sees every chat's card, but the mark is for the chat's members.
    assert marks(client, college.admin) == 0


def test_a_call_in_a_deleted_chat_leaves_no_mark(client, college):
    published(college)
    Chat.objects.filter(pk=college.custom_chat.pk).update(deleted_at=NOW)
    assert marks(client, college.student) == 0


def test_the_mark_is_per_college(client, college):
    """A person in two colleges: a call in the other college's chat marks «Сообщения» only
    while he acts there, and opening «Чаты» here clears nothing there."""
    student = person_of(college.student)
    factories.StaffMemberFactory(organization=college.other_org, person=student)
    factories.ChatMemberFactory(chat=college.other_chat, person=student)
    act(
        "publish",
        create(college, chat=college.other_chat, by=college.other_admin),
        college.other_admin,
    )
    client.force_login(student)
    client.post(reverse("switch_organization"), {"organization": college.org.pk})
    assert client.get(DESKTOP).text.count(MARK) == 0
    client.get(CHATS)
    client.post(reverse("switch_organization"), {"organization": college.other_org.pk})
    assert client.get(DESKTOP).text.count(MARK) == 2
    client.get(CHATS)
    assert client.get(DESKTOP).text.count(MARK) == 0


def test_marking_seen_twice_keeps_one_row(college, clock):
    person = person_of(college.student)
    services.mark_calls_seen(person=person, organization=college.org)
    clock.shift(dt.timedelta(hours=1))
    services.mark_calls_seen(person=person, organization=college.org)
    assert list(CallsSeen.objects.values_list("seen_at", flat=True)) == [
        NOW + dt.timedelta(hours=1)
    ]


def test_a_visit_without_news_writes_nothing(client, college):
    marks(client, college.student, CHATS)
    assert not CallsSeen.objects.exists()


def test_the_mark_costs_one_query_whatever_the_number_of_chats(client, college):
    student = person_of(college.student)
    client.force_login(student)
    client.get(DESKTOP)
    with CaptureQueriesContext(connection) as few:
        client.get(DESKTOP)

    chats = Chat.objects.bulk_create(
        Chat(organization=college.org, kind="custom", title=f"Кружок {i}") for i in range(40)
    )
    ChatMember.objects.bulk_create(ChatMember(chat=chat, person=student) for chat in chats)
    OnlineCall.objects.bulk_create(
        OnlineCall(
            chat=chat,
            title="Звонок",
            starts_at=NOW + dt.timedelta(days=1),
            status="published",
            published_at=NOW,
            created_by=person_of(college.admin),
            last_actor=person_of(college.admin),
        )
        for chat in chats
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get(DESKTOP)
    assert response.text.count(MARK) == 2
    assert len(many) == len(few)
    assert sum("calls_onlinecall" in query["sql"] for query in many) == 1


def test_a_page_without_the_menu_asks_nothing(client, college):
    published(college)
    client.force_login(person_of(college.curator))
    url = reverse("calls:chat_calls", args=[college.custom_chat.pk])
    client.get(url, headers={"HX-Request": "true"})
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers={"HX-Request": "true"})
    assert not any("calls_callsseen" in query["sql"] for query in queries)


def test_nobody_signed_in_gets_no_mark(client, college):
    published(college)
    response = client.get(reverse("login"))
    assert MARK not in response.text


def test_a_visit_at_the_moment_of_publishing_counts_as_seen(client, college):
    published(college)
    CallsSeen.objects.create(person=person_of(college.student), organization=college.org)
    assert CallsSeen.objects.get().seen_at == OnlineCall.objects.get().published_at == NOW
    assert marks(client, college.student) == 0


def test_a_call_in_a_chat_of_the_epos_platform_leaves_no_mark(client, college):
    published(college)
    Chat.objects.filter(pk=college.custom_chat.pk).update(platform="epos")
    assert marks(client, college.student) == 0

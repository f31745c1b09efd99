"""ЭПОС conversations (F30), the services: who may write to whom, one conversation per pair,
group rights, unread counting, leaving, adding people, sending rules."""

import datetime as dt
import uuid

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction

from directory.selectors import roles_of
from epos_chats import messaging
from epos_chats import messaging_selectors as selectors
from epos_chats.messaging import MessagingError
from epos_chats.models import Chat, ChatMember, DirectConversation, Message
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def college():
    org = factories.OrganizationFactory(short_name="КС")
    group = factories.GroupFactory(organization=org, name="ИС-21")
    curator = factories.StaffMemberFactory(organization=org, position="Преподаватель")
    group.curators.set([curator])
    admin = factories.StaffMemberFactory(organization=org, is_admin=True, position="Директор")
    librarian = factories.StaffMemberFactory(organization=org, position="Библиотекарь")
    student = factories.StudentFactory(organization=org, group=group)
    other_student = factories.StudentFactory(organization=org, group=group)
    parent = factories.GuardianFactory(organization=org, children=[student])
    other_parent = factories.GuardianFactory(organization=org, children=[other_student])
    stranger = factories.StaffMemberFactory()  # another college
    return {
        "org": org,
        "curator": curator.person,
        "admin": admin.person,
        "librarian": librarian.person,
        "student": student.person,
        "other_student": other_student.person,
        "parent": parent.person,
        "other_parent": other_parent.person,
        "stranger": stranger.person,
    }


def start(college, who, to):
    actor, other = college[who], college[to]
    return messaging.start_direct(
        actor=actor,
        roles=roles_of(actor, college["org"]),
        organization=college["org"],
        other=other,
    )


STAFF = ("curator", "admin", "librarian")
EVERYONE = (*STAFF, "student", "other_student", "parent", "other_parent")


@pytest.mark.parametrize(
    ("who", "to", "allowed"),
    [
        *[(w, t, True) for w in STAFF for t in EVERYONE if w != t],
        *[(w, t, True) for w in ("student", "parent") for t in STAFF],
        ("student", "other_student", False),
        ("student", "parent", False),
        ("parent", "other_parent", False),
        ("parent", "student", False),
        ("curator", "stranger", False),
        ("parent", "stranger", False),
    ],
)
def test_who_may_write_to_whom(college, who, to, allowed):
    if allowed:
        started = start(college, who, to)
        assert started.created
        assert set(started.chat.members.values_list("person_id", flat=True)) == {
            college[who].pk,
            college[to].pk,
        }
        assert started.chat.platform == Chat.Platform.EPOS
    else:
        with pytest.raises(MessagingError):
            start(college, who, to)
        assert not Chat.objects.filter(platform=Chat.Platform.EPOS).exists()


def test_students_and_parents_are_told_they_may_write_to_staff_only(college):
    with pytest.raises(MessagingError, match="сотрудникам, преподавателям и администрации"):
        start(college, "parent", "other_parent")


def test_one_conversation_per_pair_is_reused_from_either_side(college):
    first = start(college, "parent", "curator")
    again = start(college, "parent", "curator")
    back = start(college, "curator", "parent")
    assert first.created and not again.created and not back.created
    assert again.chat == first.chat == back.chat
    assert DirectConversation.objects.count() == 1


def test_the_database_refuses_a_second_conversation_of_a_pair(college):
    first = start(college, "parent", "curator").chat
    pair = first.direct
    other_chat = factories.ChatFactory(organization=college["org"], platform="epos")
    with pytest.raises(IntegrityError), transaction.atomic():
        DirectConversation.objects.create(
            chat=other_chat,
            organization=college["org"],
            person_low_id=pair.person_low_id,
            person_high_id=pair.person_high_id,
        )


def test_nobody_writes_to_themselves(college):
    with pytest.raises(MessagingError):
        start(college, "curator", "curator")


def group(college, who="curator", members=("parent", "student"), **kwargs):
    actor = college[who]
    return messaging.start_group(
        actor=actor,
        roles=roles_of(actor, college["org"]),
        organization=college["org"],
        title=kwargs.pop("title", "Родительское собрание"),
        members=[college[name].pk for name in members],
        **kwargs,
    )


@pytest.mark.parametrize("who", STAFF)
def test_staff_start_group_conversations(college, who):
    started = group(college, who)
    chat = started.chat
    assert chat.created_by == college[who]
    assert chat.members.count() == 3


@pytest.mark.parametrize("who", ["student", "parent"])
def test_students_and_parents_cannot_start_group_conversations(college, who):
    with pytest.raises(MessagingError, match="групповые беседы"):
        group(college, who, members=("curator",))


def test_a_group_of_people_from_another_college_is_refused(college):
    with pytest.raises(MessagingError):
        group(college, members=("stranger",))


def test_a_group_form_sent_twice_makes_one_conversation(college):
    key = uuid.uuid4()
    first = group(college, request_key=key)
    again = group(college, request_key=key)
    assert first.created and not again.created
    assert first.chat == again.chat


def send(chat, person, text="Здравствуйте", **kwargs):
    return messaging.send_message(actor=person, chat=chat, text=text, **kwargs)


def test_unread_counts_per_conversation_and_in_total_and_reading_clears_them(college):
    org = college["org"]
    direct = start(college, "parent", "curator").chat
    meeting = group(college, members=("parent",)).chat
    send(direct, college["parent"], "Добрый день")
    send(direct, college["parent"], "Когда собрание?")
    send(meeting, college["curator"], "Собрание в пятницу")

    chats, _ = selectors.conversations_of(college["curator"], org, limit=10)
    assert {c.pk: c.unread for c in chats} == {direct.pk: 2, meeting.pk: 0}
    assert selectors.unread_total(college["curator"], org) == 2
    assert selectors.unread_total(college["parent"], org) == 1

    last = Message.objects.filter(chat=direct).latest("pk")
    messaging.mark_read(person=college["curator"], chat=direct, up_to=last.pk)
    assert selectors.unread_total(college["curator"], org) == 0
    # An older page loaded later does not make the messages unread again.
    messaging.mark_read(person=college["curator"], chat=direct, up_to=last.pk - 1)
    assert selectors.unread_total(college["curator"], org) == 0


def test_own_messages_are_never_unread(college):
    chat = start(college, "parent", "curator").chat
    send(chat, college["parent"])
    assert selectors.unread_total(college["parent"], college["org"]) == 0


def test_conversations_are_listed_newest_message_first(college):
    older = start(college, "curator", "parent").chat
    newer = start(college, "curator", "student").chat
    send(newer, college["curator"])
    send(older, college["curator"])
    chats, _ = selectors.conversations_of(college["curator"], college["org"], limit=10)
    assert [c.pk for c in chats] == [older.pk, newer.pk]
    # Each side sees the other's name on a one-to-one conversation.
    assert chats[0].display_title == college["parent"].short_name


def test_each_listed_conversation_carries_its_last_message_and_other_side_in_one_query(
    college, django_assert_num_queries
):
    direct = start(college, "curator", "parent").chat
    meeting = group(college, members=("parent",)).chat
    send(direct, college["curator"], "Первое")
    last = send(direct, college["parent"], "Второе").message

    with django_assert_num_queries(1):
        chats, more = selectors.conversations_of(college["curator"], college["org"], limit=10)

    assert not more
    by_pk = {c.pk: c for c in chats}
    listed = by_pk[direct.pk]
    assert (listed.last_text, listed.last_at, listed.unread) == ("Второе", last.created_at, 1)
    assert listed.is_direct is True
    assert listed.peer.short_name == listed.display_title == college["parent"].short_name
    quiet = by_pk[meeting.pk]
    assert quiet.is_direct is False and quiet.peer is None
    assert quiet.display_title == "Родительское собрание"
    # No message yet: dated by its creation, with nothing unread.
    assert (quiet.last_text, quiet.last_at, quiet.unread) == (None, meeting.created_at, 0)


def test_only_the_persons_live_conversations_of_the_college_are_listed(college):
    mine = start(college, "curator", "parent").chat
    gone = start(college, "curator", "student").chat
    Chat.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    start(college, "admin", "parent")  # not the curator's
    factories.ChatMemberFactory(
        chat=factories.ChatFactory(organization=college["org"], title="VK"),
        person=college["curator"],
    )

    chats, _ = selectors.conversations_of(college["curator"], college["org"], limit=10)

    assert [c.pk for c in chats] == [mine.pk]
    assert selectors.conversations_of(
        college["curator"], college["stranger"].staff_roles.get().organization, limit=10
    ) == ([], False)


def test_more_than_the_limit_is_said_and_cut(college):
    for name in ("parent", "student", "other_student"):
        start(college, "curator", name)
    chats, more = selectors.conversations_of(college["curator"], college["org"], limit=2)
    assert len(chats) == 2 and more
    chats, more = selectors.conversations_of(college["curator"], college["org"], limit=3)
    assert len(chats) == 3 and not more


def test_a_member_leaves_a_group_conversation(college):
    chat = group(college).chat
    assert messaging.leave_group(actor=college["parent"], chat=chat)
    assert not messaging.leave_group(actor=college["parent"], chat=chat)
    assert not ChatMember.objects.filter(chat=chat, person=college["parent"]).exists()
    with pytest.raises(MessagingError):
        send(chat, college["parent"])


def test_nobody_leaves_a_one_to_one_conversation(college):
    chat = start(college, "parent", "curator").chat
    with pytest.raises(MessagingError):
        messaging.leave_group(actor=college["parent"], chat=chat)


def test_only_the_creator_adds_people(college):
    chat = group(college).chat
    added = messaging.add_members(
        actor=college["curator"], chat=chat, people=[college["librarian"].pk, college["parent"].pk]
    )
    assert added == 1
    with pytest.raises(MessagingError, match="только создатель"):
        messaging.add_members(actor=college["parent"], chat=chat, people=[college["admin"].pk])
    with pytest.raises(MessagingError):
        messaging.add_members(actor=college["curator"], chat=chat, people=[college["stranger"].pk])


@pytest.mark.parametrize("text", ["", "   \n  ", "я" * 4001])
def test_empty_and_over_long_messages_are_refused(college, text):
    chat = start(college, "parent", "curator").chat
    with pytest.raises(MessagingError):
        send(chat, college["parent"], text)
    assert not Message.objects.exists()


def test_a_message_of_4000_characters_is_kept_trimmed(college):
    chat = start(college, "parent", "curator").chat
    sent = send(chat, college["parent"], "  " + "я" * 4000 + "\n")
    assert sent.message.text == "я" * 4000


def test_a_double_submit_stores_one_message(college):
    chat = start(college, "parent", "curator").chat
    token = uuid.uuid4()
    first = send(chat, college["parent"], client_token=token)
    again = send(chat, college["parent"], client_token=token)
    assert first.created and not again.created
    assert Message.objects.count() == 1


def test_sending_is_rate_limited_per_person(college):
    chat = start(college, "parent", "curator").chat
    for n in range(messaging.RATE_LIMIT):
        send(chat, college["parent"], f"сообщение {n}")
    with pytest.raises(MessagingError, match="не больше 20 в минуту"):
        send(chat, college["parent"], "ещё одно")
    # The other side is not slowed down by it.
    send(chat, college["curator"], "Ответ")


def test_conversations_are_read_only_once_hidden(college, settings, time_machine):
    chat = start(college, "parent", "curator").chat
    send(chat, college["parent"])
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2026, 10, 1)
    time_machine.move_to(dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC))
    with pytest.raises(MessagingError, match="только для чтения"):
        send(chat, college["curator"], "Ответ")
    with pytest.raises(MessagingError):
        start(college, "parent", "admin")
    # Nothing is deleted: the pair's conversation is still found.
    assert start(college, "parent", "curator").chat == chat

"""Reads of ЭПОС conversations (F30) for pages: the list with unread counts, a conversation's
messages, the unread total of the menu. Each reader costs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from directory.models import Organization, Person
from directory.selectors import Columns, converted, fetch
from epos_chats.access import membership_of
from epos_chats.messaging import LAST_ID_TTL, last_id_key
from epos_chats.models import Chat, ChatMember, DirectConversation, Message, ReadMark

PAGE_SIZE = 30


def _read_up_to(person: Person | int) -> Coalesce:
    marks = ReadMark.objects.filter(chat=OuterRef("chat_id"), person=person)
    return Coalesce(Subquery(marks.values("last_read_message_id")[:1]), 0)


def _unread_messages(person: Person | int) -> QuerySet[Message]:
    """Messages by others after the person's read mark, of the outer chat's rows."""
    return Message.objects.exclude(author=person).filter(pk__gt=_read_up_to(person))


def my_conversations(person: Person | int, organization: Organization) -> QuerySet[Chat]:
    return Chat.objects.alive().filter(
        membership_of(person), organization=organization, platform=Chat.Platform.EPOS
    )


_CHAT = Columns(Chat, "c")
_LAST_AT = len(_CHAT) + 4  # the row's columns after the chat's: see _CONVERSATIONS_SQL
# By hand, with joins where the ORM built seven subqueries: building them cost more than the
# query, asked on «Чаты» and the desktop. The last message is the chat's highest id; the other
# side of a one-to-one is its first other member; unread are others' messages after the
# person's read mark (none: everything).
_CONVERSATIONS_SQL = f"""
    SELECT {_CHAT.sql},
        EXISTS (SELECT 1 FROM {DirectConversation._meta.db_table} d WHERE d.chat_id = c.id),
        peer.last_name, peer.first_name, peer.middle_name,
        COALESCE(last.created_at, c.created_at) AS last_at,
        last.text,
        (
            SELECT COUNT(*) FROM {Message._meta.db_table} u
            WHERE u.chat_id = c.id AND u.author_id <> %s AND u.id > COALESCE((
                SELECT mark.last_read_message_id FROM {ReadMark._meta.db_table} mark
                WHERE mark.chat_id = c.id AND mark.person_id = %s
            ), 0)
        )
    FROM {Chat._meta.db_table} c
    INNER JOIN {ChatMember._meta.db_table} me ON me.chat_id = c.id AND me.person_id = %s
    LEFT JOIN {Person._meta.db_table} peer ON peer.id = (
        SELECT m.person_id FROM {ChatMember._meta.db_table} m
        WHERE m.chat_id = c.id AND m.person_id <> %s ORDER BY m.id LIMIT 1
    )
    LEFT JOIN {Message._meta.db_table} last ON last.id = (
        SELECT MAX(l.id) FROM {Message._meta.db_table} l WHERE l.chat_id = c.id
    )
    WHERE c.organization_id = %s AND c.platform = %s AND c.deleted_at IS NULL
    ORDER BY last_at DESC, c.id DESC
    LIMIT %s
"""


def conversations_of(
    person: Person | int, organization: Organization, *, limit: int
) -> tuple[list[Chat], bool]:
    """The person's conversations, newest message first, and whether there are more; each
    with `unread`, `last_at`, `last_text`, `is_direct`, `peer` (the other side of a one-to-one)
    and `display_title`. One query whatever the number of conversations."""
    person_id = getattr(person, "pk", person)
    rows = fetch(
        _CONVERSATIONS_SQL,
        [
            person_id,
            person_id,
            person_id,
            person_id,
            organization.pk,
            Chat.Platform.EPOS.value,
            limit + 1,
        ],
    )
    created_at = Chat._meta.get_field("created_at")
    chats = []
    for row in rows[:limit]:
        chat = _CHAT.instance(row, 0)
        at = len(_CHAT)
        chat.is_direct = bool(row[at])
        chat.peer_last_name, chat.peer_first_name, chat.peer_middle_name = row[at + 1 : at + 4]
        chat.last_at = converted(created_at, row[_LAST_AT])
        chat.last_text, chat.unread = row[_LAST_AT + 1 :]
        chats.append(chat)
    _attach_peers(chats)
    return chats, len(rows) > limit


def _with_peer(chats: QuerySet[Chat], person: Person | int) -> QuerySet[Chat]:
    """The other side's name on each row (a one-to-one has exactly one), in the same query."""
    peer = ChatMember.objects.filter(chat=OuterRef("pk")).exclude(person=person).order_by("pk")
    return chats.annotate(
        is_direct=Exists(DirectConversation.objects.filter(chat=OuterRef("pk"))),
        peer_last_name=Subquery(peer.values("person__last_name")[:1]),
        peer_first_name=Subquery(peer.values("person__first_name")[:1]),
        peer_middle_name=Subquery(peer.values("person__middle_name")[:1]),
    )


def _attach_peers(chats: list[Chat]) -> None:
    for chat in chats:
        chat.peer = None
        if chat.is_direct and chat.peer_last_name is not None:
            chat.peer = Person(
                last_name=chat.peer_last_name,
                first_name=chat.peer_first_name or "",
                middle_name=chat.peer_middle_name or "",
            )
        chat.display_title = chat.peer.short_name if chat.peer else chat.title


# By hand: the menu asks it on every page, and the ORM took longer to build it than
# PostgreSQL to answer it. Unread as on the list: others' messages after the read mark.
_UNREAD_TOTAL_SQL = f"""
    SELECT COUNT(*)
    FROM {Chat._meta.db_table} c
    INNER JOIN {ChatMember._meta.db_table} me ON me.chat_id = c.id AND me.person_id = %s
    INNER JOIN {Message._meta.db_table} u ON u.chat_id = c.id
    WHERE c.organization_id = %s AND c.platform = %s AND c.deleted_at IS NULL
        AND u.author_id <> %s AND u.id > COALESCE((
            SELECT mark.last_read_message_id FROM {ReadMark._meta.db_table} mark
            WHERE mark.chat_id = c.id AND mark.person_id = %s
        ), 0)
"""


def unread_total_query(person: Person | int, organization: Organization) -> tuple[str, list]:
    """The SQL of `unread_total` and its parameters (the menu reads it with the call mark:
    epos_chats/menu.py)."""
    person_id = getattr(person, "pk", person)
    return _UNREAD_TOTAL_SQL, [
        person_id,
        organization.pk,
        Chat.Platform.EPOS.value,
        person_id,
        person_id,
    ]


def unread_total(person: Person | int, organization: Organization) -> int:
    """The menu's mark: unread messages of all the person's conversations, in one query."""
    return fetch(*unread_total_query(person, organization))[0][0]


def conversation_of(person: Person, organization: Organization | None, chat_id: int) -> Chat:
    """A conversation the person is in, with `is_direct`, `peer` and `display_title`; 404 for
    anyone else, the college's administration included (messages stay between members)."""
    if organization is None:
        raise Http404("Переписка не найдена.")
    chat = (
        _with_peer(my_conversations(person, organization), person)
        .filter(pk=chat_id)
        .select_related("organization")
        .first()
    )
    if chat is None:
        raise Http404("Переписка не найдена.")
    _attach_peers([chat])
    return chat


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    has_older: bool

    @property
    def first_id(self) -> int | None:
        return self.messages[0].pk if self.messages else None

    @property
    def last_id(self) -> int | None:
        return self.messages[-1].pk if self.messages else None


def messages_before(chat: Chat, before: int | None = None) -> MessagePage:
    """The latest `PAGE_SIZE` messages (before id `before` when given), oldest first."""
    messages = Message.objects.filter(chat=chat).select_related("author")
    if before:
        messages = messages.filter(pk__lt=before)
    rows = list(messages.order_by("-pk")[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    return MessagePage(list(reversed(rows[:PAGE_SIZE])), has_older)


def messages_after(chat: Chat, after: int) -> list[Message]:
    return list(
        Message.objects.filter(chat=chat, pk__gt=after).select_related("author").order_by("pk")
    )


def last_message_id(chat_id: int) -> int:
    """The id of the chat's last message (0 without one): from the cache when a process has
    asked lately, else one query down the (chat, id) index."""
    key = last_id_key(chat_id)
    cached = cache.get(key)
    if cached is not None:
        return cached
    found = (
        Message.objects.filter(chat_id=chat_id).order_by("-pk").values_list("pk", flat=True).first()
    ) or 0
    # `add`, not `set`: a message sent meanwhile has already put its newer id there.
    cache.add(key, found, LAST_ID_TTL)
    return found


def members_of(chat: Chat) -> list[Person]:
    return [
        member.person
        for member in ChatMember.objects.filter(chat=chat)
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "pk")
    ]

"""ЭПОС conversations (F30): every change to them goes through here — starting a one-to-one or
a group conversation, sending, reading, leaving, adding people.

Who may write to whom is decided once, in `may_write_to`: staff, teachers and the
administration write to anyone of the college; students and parents to staff only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from directory.models import Guardian, Organization, Person, StaffMember, Student
from directory.selectors import Roles, today_in
from epos_chats import audit
from epos_chats.models import (
    MESSAGE_MAX_LENGTH,
    AuditEvent,
    Chat,
    ChatMember,
    DirectConversation,
    Message,
    ReadMark,
)
from epos_chats.services import ChatError, _check_members, _clean_title

RATE_LIMIT = 20  # messages
RATE_WINDOW = 60  # seconds
# How long a process trusts the cached id of a chat's last message; `send_message` refreshes
# it at once, so only a process that missed the refresh (no shared cache) can lag this long.
LAST_ID_TTL = 10

NO_TEXT = "Введите текст сообщения."
TOO_LONG = "Сообщение — не длиннее {limit} символов (сейчас {length})."
TOO_FAST = (
    "Слишком много сообщений подряд: не больше {limit} в минуту. "
    "Подождите немного и отправьте снова."
)
STAFF_ONLY = "Обучающиеся и родители могут писать сотрудникам, преподавателям и администрации."
GROUPS_BY_STAFF = "Создавать групповые беседы могут сотрудники, преподаватели и администрация."
NOT_IN_COLLEGE = "Этого человека нет среди сотрудников, обучающихся и родителей вашей организации."
CLOSED = "Чаты ЭПОС скрыты с {date:%d.%m.%Y}: переписка доступна только для чтения."


class MessagingError(ChatError):
    """A step the rules do not allow; the message is shown to the person as it is."""


def epos_open(organization: Organization | None) -> bool:
    """F4/F30: before `EPOS_CHATS_HIDDEN_FROM` (by the college's day) ЭПОС chats are in use;
    from that day they are only read."""
    hidden_from = settings.EPOS_CHATS_HIDDEN_FROM
    return hidden_from is None or today_in(organization) < hidden_from


def _ensure_open(organization: Organization) -> None:
    if not epos_open(organization):
        raise MessagingError(CLOSED.format(date=settings.EPOS_CHATS_HIDDEN_FROM))


def _active_role(model, organization: Organization, person_id: int):
    return model.objects.filter(organization=organization, person_id=person_id, is_active=True)


def is_staff_of(organization: Organization, person_id: int) -> bool:
    return _active_role(StaffMember, organization, person_id).exists()


def may_start_groups(roles: Roles) -> bool:
    """Group conversations are started by staff, teachers and the administration."""
    return roles.staff is not None


def may_write_to(roles: Roles, organization: Organization, other: Person) -> bool:
    """Whether the person with `roles` may start a one-to-one conversation with `other`:
    `other` must hold a role in the college; students and parents reach staff only."""
    if roles.staff is not None:
        return (
            Person.objects.filter(pk=other.pk)
            .filter(
                Exists(_active_role(StaffMember, organization, OuterRef("pk")))
                | Exists(_active_role(Student, organization, OuterRef("pk")))
                | Exists(_active_role(Guardian, organization, OuterRef("pk")))
            )
            .exists()
        )
    if roles.student is None and roles.guardian is None:
        return False
    return is_staff_of(organization, other.pk)


def direct_title(one: Person, other: Person) -> str:
    """Stored for the admin and the audit; each side sees the other's name instead."""
    return f"{one.short_name} — {other.short_name}"[:255]


@dataclass(frozen=True)
class Started:
    chat: Chat
    created: bool  # False: the pair's conversation already existed and is reused


def start_direct(*, actor: Person, roles: Roles, organization: Organization, other: Person):
    """The one conversation of `actor` and `other` in the college: created once, then reused."""
    if other.pk == actor.pk:
        raise MessagingError("Нельзя написать самому себе.")
    low, high = sorted((actor.pk, other.pk))
    existing = _direct_of(organization, low, high)
    if existing is not None:
        return Started(existing, created=False)
    _ensure_open(organization)
    if not may_write_to(roles, organization, other):
        if roles.staff is not None:
            raise MessagingError(NOT_IN_COLLEGE)
        raise MessagingError(STAFF_ONLY)
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                organization=organization,
                kind=Chat.Kind.CUSTOM,
                platform=Chat.Platform.EPOS,
                title=direct_title(actor, other),
                created_by=actor,
            )
            ChatMember.objects.bulk_create(
                [ChatMember(chat=chat, person=actor), ChatMember(chat=chat, person=other)]
            )
            DirectConversation.objects.create(
                chat=chat, organization=organization, person_low_id=low, person_high_id=high
            )
            audit.record(
                actor=actor,
                organization=organization,
                action=AuditEvent.Action.CHAT_CREATED,
                obj=chat,
                after={"platform": chat.platform, "members": [low, high]},
            )
    except IntegrityError:
        # The other side started the same conversation a moment earlier: theirs is the one.
        existing = _direct_of(organization, low, high)
        if existing is None:
            raise
        return Started(existing, created=False)
    return Started(chat, created=True)


def _direct_of(organization: Organization, low: int, high: int) -> Chat | None:
    return (
        Chat.objects.alive()
        .filter(
            direct__organization=organization,
            direct__person_low_id=low,
            direct__person_high_id=high,
        )
        .first()
    )


def start_group(
    *,
    actor: Person,
    roles: Roles,
    organization: Organization,
    title: str,
    members: list[int],
    request_key: uuid.UUID | None = None,
) -> Started:
    """A group conversation: a title, its creator (who may add people later) and members."""
    if not may_start_groups(roles):
        raise MessagingError(GROUPS_BY_STAFF)
    _ensure_open(organization)
    if request_key is not None:
        found = Chat.objects.filter(request_key=request_key, created_by=actor).first()
        if found is not None:
            return Started(found, created=False)
    try:
        title = _clean_title(title)
    except ChatError as error:
        raise MessagingError(str(error)) from error
    people = {int(pk): False for pk in members if int(pk) != actor.pk}
    if not people:
        raise MessagingError("Выберите хотя бы одного участника беседы.")
    people[actor.pk] = True
    _checked_members(organization, people)
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                organization=organization,
                kind=Chat.Kind.CUSTOM,
                platform=Chat.Platform.EPOS,
                title=title,
                created_by=actor,
                request_key=request_key,
            )
            ChatMember.objects.bulk_create(
                ChatMember(chat=chat, person_id=pk, is_admin=admin) for pk, admin in people.items()
            )
            audit.record(
                actor=actor,
                organization=organization,
                action=AuditEvent.Action.CHAT_CREATED,
                obj=chat,
                after={"platform": chat.platform, "members": sorted(people)},
            )
    except IntegrityError:
        found = Chat.objects.filter(request_key=request_key, created_by=actor).first()
        if request_key is None or found is None:
            raise
        return Started(found, created=False)
    return Started(chat, created=True)


def _checked_members(organization: Organization, members: dict[int, bool]) -> None:
    """Only people of the college: the same rule as for any chat, as a MessagingError."""
    try:
        _check_members(organization, members)
    except ChatError as error:
        raise MessagingError(str(error)) from error


def is_group(chat: Chat) -> bool:
    return not DirectConversation.objects.filter(chat=chat).exists()


def _is_member(chat: Chat, person: Person) -> bool:
    return ChatMember.objects.filter(chat=chat, person=person).exists()


# --- messages -------------------------------------------------------------------------------


def clean_text(text: str | None) -> str:
    """The message as stored: trimmed, 1..4000 characters, line breaks kept."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise MessagingError(NO_TEXT)
    if len(text) > MESSAGE_MAX_LENGTH:
        raise MessagingError(TOO_LONG.format(limit=MESSAGE_MAX_LENGTH, length=len(text)))
    return text


def _rate_key(person_id: int, now: dt.datetime) -> str:
    return f"epos:rate:{person_id}:{int(now.timestamp()) // RATE_WINDOW}"


def _take_rate_slot(person_id: int, now: dt.datetime) -> None:
    """A fixed one-minute window per person in the shared cache: the 21st message of a minute
    is refused, whichever process serves it."""
    key = _rate_key(person_id, now)
    cache.add(key, 0, RATE_WINDOW + 5)
    try:
        sent = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW + 5)
        sent = 1
    if sent > RATE_LIMIT:
        raise MessagingError(TOO_FAST.format(limit=RATE_LIMIT))


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: the same form came twice; the first message is returned


def send_message(
    *, actor: Person, chat: Chat, text: str | None, client_token: uuid.UUID | None = None
) -> Sent:
    """Store a message from a member of the conversation; its author has read up to it."""
    if client_token is not None:
        found = Message.objects.filter(author=actor, client_token=client_token).first()
        if found is not None:
            return Sent(found, created=False)
    text = clean_text(text)
    if not _is_member(chat, actor):
        raise MessagingError("Вы не участник этой беседы.")
    _ensure_open(chat.organization)
    now = timezone.now()
    _take_rate_slot(actor.pk, now)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                chat=chat, author=actor, text=text, created_at=now, client_token=client_token
            )
            _advance_mark(chat.pk, actor.pk, message.pk)
    except IntegrityError:
        found = Message.objects.filter(author=actor, client_token=client_token).first()
        if client_token is None or found is None:
            raise
        return Sent(found, created=False)
    transaction.on_commit(lambda: remember_last_id(chat.pk, message.pk))
    return Sent(message, created=True)


def last_id_key(chat_id: int) -> str:
    return f"epos:last:{chat_id}"


def remember_last_id(chat_id: int, message_id: int) -> None:
    cache.set(last_id_key(chat_id), message_id, LAST_ID_TTL)


def _advance_mark(chat_id: int, person_id: int, message_id: int) -> None:
    """Moves forward only: an older page loaded later never makes messages unread again."""
    moved = ReadMark.objects.filter(
        chat_id=chat_id, person_id=person_id, last_read_message_id__lt=message_id
    ).update(last_read_message_id=message_id)
    if moved:
        return
    try:
        with transaction.atomic():
            ReadMark.objects.get_or_create(
                chat_id=chat_id,
                person_id=person_id,
                defaults={"last_read_message_id": message_id},
            )
    except IntegrityError:
        # Another tab of the same person created it: try the forward move once more.
        ReadMark.objects.filter(
            chat_id=chat_id, person_id=person_id, last_read_message_id__lt=message_id
        ).update(last_read_message_id=message_id)


def mark_read(*, person: Person, chat: Chat, up_to: int | None) -> None:
    """The person has seen the conversation up to message `up_to` (None: nothing there yet)."""
    if up_to:
        _advance_mark(chat.pk, person.pk, up_to)


# --- members of a group conversation --------------------------------------------------------


def leave_group(*, actor: Person, chat: Chat) -> bool:
    """The person leaves a group conversation; leaving twice is not an error."""
    if not is_group(chat):
        raise MessagingError("Из личной переписки выйти нельзя.")
    with transaction.atomic():
        removed, _ = ChatMember.objects.filter(chat=chat, person=actor).delete()
        if removed:
            audit.record(
                actor=actor,
                organization=chat.organization,
                action=AuditEvent.Action.CHAT_MEMBERS_CHANGED,
                obj=chat,
                before={"members": [actor.pk]},
                after={"left": actor.pk},
            )
    return bool(removed)


def add_members(*, actor: Person, chat: Chat, people: list[int]) -> int:
    """The creator adds people of the college to a group conversation; returns how many."""
    if not is_group(chat):
        raise MessagingError("В личную переписку нельзя добавить участников.")
    if chat.created_by_id != actor.pk or not _is_member(chat, actor):
        raise MessagingError("Добавлять участников может только создатель беседы.")
    _ensure_open(chat.organization)
    wanted = {int(pk): False for pk in people}
    if not wanted:
        raise MessagingError("Выберите, кого добавить.")
    _checked_members(chat.organization, wanted)
    with transaction.atomic():
        present = set(
            ChatMember.objects.filter(chat=chat, person_id__in=wanted).values_list(
                "person_id", flat=True
            )
        )
        new = sorted(set(wanted) - present)
        ChatMember.objects.bulk_create(
            [ChatMember(chat=chat, person_id=pk) for pk in new], ignore_conflicts=True
        )
        if new:
            audit.record(
                actor=actor,
                organization=chat.organization,
                action=AuditEvent.Action.CHAT_MEMBERS_CHANGED,
                obj=chat,
                after={"added": new},
            )
    return len(new)

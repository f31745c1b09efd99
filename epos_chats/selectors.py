"""Reads of chats for pages: «Чаты», a chat's settings, the desktop widget.

Each reader issues a fixed number of queries whatever the number of chats or members: the
counts come as correlated subqueries, computed for the page's rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from calls.models import OnlineCall
from directory.models import (
    Discipline,
    Group,
    Guardian,
    Organization,
    Person,
    StaffMember,
    Student,
    Teaching,
)
from directory.selectors import Columns, Roles, converted, fetch
from epos_chats.access import membership_of, visible_chats
from epos_chats.models import Chat, ChatMember
from vk_sync.models import RemoteChat, VkLink

CHATS_PER_PAGE = 15
MEMBERS_PER_PAGE = 50
RECENT_CHATS_SHOWN = 5
EPOS_CHATS_SHOWN = 20

SORT_NAME, SORT_KIND, SORT_CHANGED = "name", "kind", "changed"
SORTS = {
    SORT_NAME: "по названию",
    SORT_KIND: "по типу",
    SORT_CHANGED: "по дате изменения",
}
KIND_LABELS = dict(Chat.Kind.choices)
# «По типу» follows the order the seed introduces the kinds in, not the alphabet of their codes.
KIND_ORDER = (
    Chat.Kind.TEACHERS,
    Chat.Kind.GROUP,
    Chat.Kind.PARENTS,
    Chat.Kind.CUSTOM,
    Chat.Kind.DISCIPLINE,
)


@dataclass(frozen=True)
class ChatQuery:
    """What the person asked the list for; every field already checked (see forms)."""

    q: str = ""
    kind: str = ""
    course: int | None = None
    group: int | None = None
    with_call: bool = False
    sort: str = SORT_NAME

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.kind or self.course or self.group or self.with_call)


_VK_LINK = Columns(VkLink, "v")
_VK_LINK_SQL = f"SELECT {_VK_LINK.sql} FROM {VkLink._meta.db_table} v WHERE v.person_id = %s"


def vk_link_of(person: Person) -> VkLink | None:
    """The person's «учебный профиль VK ID», if linked (at most one: the link is one to one).
    By hand: every page that creates or edits a chat asks it first."""
    rows = fetch(_VK_LINK_SQL, [person.pk])
    return _VK_LINK.instance(rows[0], 0) if rows else None


def _member_count(*, linked: bool = False) -> Coalesce:
    members = ChatMember.objects.filter(chat=OuterRef("pk"))
    if linked:
        members = members.filter(person__vk_link__isnull=False)
    counted = members.order_by().values("chat").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_member_counts(chats: QuerySet[Chat]) -> QuerySet[Chat]:
    """`member_count` (everyone) and `linked_count` (members with a VK ID link), F6."""
    return chats.annotate(member_count=_member_count(), linked_count=_member_count(linked=True))


def _title_matches(chats: QuerySet[Chat], q: str) -> Q:
    condition = Q(title__icontains=q)
    if connections[chats.db].vendor == "sqlite":
        # SQLite folds the case of ASCII letters only: «группа» must still find «Группа ИС-21»
        # in the embedded demo database. PostgreSQL's icontains folds Cyrillic by itself.
        for variant in {q.lower(), q.upper(), q.capitalize(), q.title()}:
            condition |= Q(title__contains=variant)
    return condition


def _published_call() -> QuerySet[OnlineCall]:
    """The outer chat's live published call: at most one (a partial unique index, F23)."""
    return OnlineCall.objects.published().filter(chat=OuterRef("pk"))


def _published_call_exists() -> Exists:
    return Exists(_published_call())


def filter_chats(chats: QuerySet[Chat], query: ChatQuery) -> QuerySet[Chat]:
    """Search by name, the filters of F6 and the sort. Group and course reach group chats
    through their group and «Дисциплина» chats through their group-by-discipline."""
    if query.q:
        chats = chats.filter(_title_matches(chats, query.q))
    if query.kind:
        chats = chats.filter(kind=query.kind)
    if query.course:
        chats = chats.filter(
            Q(group__course=query.course) | Q(teaching__group__course=query.course)
        )
    if query.group:
        chats = chats.filter(Q(group_id=query.group) | Q(teaching__group_id=query.group))
    if query.with_call:
        chats = chats.filter(_published_call_exists())
    if query.sort == SORT_KIND:
        rank = Case(
            *(When(kind=kind, then=Value(i)) for i, kind in enumerate(KIND_ORDER)),
            output_field=IntegerField(),
        )
        return chats.order_by(rank, "title", "pk")
    if query.sort == SORT_CHANGED:
        return chats.order_by("-changed_at", "title", "pk")
    return chats.order_by("title", "pk")


_CHAT = Columns(Chat, "c")
_REMOTE = Columns(RemoteChat, "r")
_CALL_STARTS_AT = OnlineCall._meta.get_field("starts_at")
# A card's counts, admin flag, context, call and messenger row, for the page's chats only:
# `page` is the ORM's pick of them (visible_chats and filter_chats), with the list's total and
# each chat's place in its order. By hand around it: the ORM spent more building and compiling
# these than the database running them, and few joins keep the planner quick. The published
# call is a join: a chat has one at most (the partial unique index of F23).
_CARDS_SQL = (
    f"""
    SELECT {_CHAT.sql}, page.total,
        (SELECT COUNT(*) FROM {ChatMember._meta.db_table} m WHERE m.chat_id = c.id),
        (
            SELECT COUNT(*) FROM {ChatMember._meta.db_table} m
            INNER JOIN {VkLink._meta.db_table} l ON l.person_id = m.person_id
            WHERE m.chat_id = c.id
        ),
        EXISTS (
            SELECT 1 FROM {ChatMember._meta.db_table} m
            WHERE m.chat_id = c.id AND m.person_id = %s AND m.is_admin
        ),
        (SELECT g.name FROM {Group._meta.db_table} g WHERE g.id = c.group_id),
        (
            SELECT g.name || ' · ' || d.name FROM {Teaching._meta.db_table} t
            INNER JOIN {Group._meta.db_table} g ON g.id = t.group_id
            INNER JOIN {Discipline._meta.db_table} d ON d.id = t.discipline_id
            WHERE t.id = c.teaching_id
        ),
        oc.id, oc.title, oc.starts_at,
        {_REMOTE.sql}
    FROM (""",
    f""") page
    INNER JOIN {Chat._meta.db_table} c ON c.id = page.chat_id
    LEFT JOIN {OnlineCall._meta.db_table} oc
        ON oc.chat_id = c.id AND oc.status = %s AND oc.deleted_at IS NULL
    LEFT JOIN {RemoteChat._meta.db_table} r ON r.chat_id = c.id
    ORDER BY page.place
    """,
)


def _cards(chats: QuerySet[Chat], person: Person, number: int) -> tuple[list[Chat], int | None]:
    """Page `number` of `chats` and the list's total (None when the page has no chats)."""
    start = (number - 1) * CHATS_PER_PAGE
    picked = chats.annotate(
        total=Window(Count("pk")), place=Window(RowNumber(), order_by=chats.query.order_by)
    ).values("total", "place", chat_id=F("pk"))[start : start + CHATS_PER_PAGE]
    page_sql, page_params = picked.query.get_compiler(using=chats.db).as_sql()
    head, tail = _CARDS_SQL
    rows = fetch(
        head + page_sql + tail,
        [person.pk, *page_params, OnlineCall.Status.PUBLISHED.value],
        chats.db,
    )
    remote = Chat._meta.get_field("remote")
    cards = []
    for row in rows:
        chat = _CHAT.instance(row, 0, chats.db)
        at = len(_CHAT)
        chat.member_count, chat.linked_count, is_admin, group, teaching = row[at + 1 : at + 6]
        chat.call_id, chat.call_title, starts_at = row[at + 6 : at + 9]
        chat.is_chat_admin = bool(is_admin)
        chat.call_starts_at = converted(_CALL_STARTS_AT, starts_at, chats.db)
        remote.set_cached_value(chat, _REMOTE.instance(row, at + 9, chats.db))
        chat.context_label = teaching or (
            group if group and chat.kind not in Chat.GROUP_KINDS else ""
        )
        chat.sync, chat.messenger_url = sync_state(chat), messenger_url(chat)
        chat.initial, chat.kind_label = chat.title[:1].upper(), KIND_LABELS[chat.kind]
        cards.append(chat)
    return cards, rows[0][len(_CHAT)] if rows else None


# No college has a millionth page; a larger number only has to read as «past the end» without
# overflowing the OFFSET it becomes (a crafted ?page=10**30 was a 500).
_LAST_POSSIBLE_PAGE = 1_000_000


def _page_asked(page_number: object) -> int:
    try:
        number = int(page_number)
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(max(number, 1), _LAST_POSSIBLE_PAGE)


def chat_page(
    person: Person,
    organization: Organization,
    roles: Roles,
    query: ChatQuery,
    page_number: object,
) -> Page:
    """The page of chats for the VK block: one query (the page's rows and the list's total).

    Each chat carries `member_count`, `linked_count`, `is_chat_admin` (the person is its
    admin), its published call (`call_id`, `call_title`, `call_starts_at`; None without one),
    its `remote` row with `sync` (B1) and `messenger_url` (F10), `context_label` (its group,
    or the group and discipline of its group-by-discipline), `initial` and `kind_label`. A
    page number out of range or not a number gives the page Django's `get_page` picks, at the
    cost of a count and a second read.

    The page's rows are picked first, by a subquery that sorts and filters bare chats; only
    those rows get the counts, the call and the joined rows, so a card costs the same in a
    college of 10 chats and of 1 000.
    """
    chats = filter_chats(visible_chats(person, organization, roles), query)
    asked = _page_asked(page_number)
    cards, total = _cards(chats, person, asked)
    if total is None:  # an empty list, or a page past its end
        total = chats.count() if asked > 1 else 0
    paginator = Paginator(chats, CHATS_PER_PAGE)
    paginator.count = total
    page = paginator.get_page(page_number)
    if page.number != asked:
        cards, _ = _cards(chats, person, page.number)
    page.object_list = cards
    return page


@dataclass(frozen=True)
class SyncState:
    """B1: where the chat stands in the messenger, for its card."""

    code: str  # "synced" | "pending" | "error"
    label: str
    reason: str = ""


def sync_state(chat: Chat) -> SyncState:
    """From the chat's `remote` row (read with it by `chat_page`): no query of its own."""
    remote = getattr(chat, "remote", None)
    if remote is not None and remote.last_error:
        return SyncState("error", "ошибка", remote.last_error)
    if remote is None or remote.synced_version is None or remote.synced_version < chat.changed_at:
        return SyncState("pending", "ожидает отправки")
    return SyncState("synced", "синхронизирован")


class GroupOption(NamedTuple):
    """A group as the filters offer it: dozens a college, read as plain tuples."""

    pk: int
    name: str
    course: int


@dataclass(frozen=True)
class Frame:
    """What «Чаты» asks before it draws its blocks."""

    vk_linked: bool  # the VK block lists chats to a person with a VK ID link only
    groups: list[GroupOption]  # the filters' groups, with the link only
    has_conversations: bool  # ЭПОС conversations of the person in the college (False: unasked)


# One query: the link, the college's active groups when there is one, and whether the ЭПОС
# block has anything to list — the same set as messaging_selectors.my_conversations. The list
# itself is the page's costliest query to plan, and it is skipped when there is nothing.
_FRAME_SQL = """
    SELECT l.id IS NOT NULL, {conversations}, g.id, g.name, g.course
    FROM {person} p
    LEFT JOIN {link} l ON l.person_id = p.id
    LEFT JOIN {group} g ON l.id IS NOT NULL AND g.organization_id = %s AND g.is_active
    WHERE p.id = %s
    ORDER BY g.course, g.name, g.id
"""
_HAS_CONVERSATIONS_SQL = f"""EXISTS (
        SELECT 1 FROM {ChatMember._meta.db_table} m
        INNER JOIN {Chat._meta.db_table} c ON c.id = m.chat_id
        WHERE m.person_id = %s AND c.organization_id = %s AND c.platform = %s
            AND c.deleted_at IS NULL
    )"""
_TABLES = {
    "person": Person._meta.db_table,
    "link": VkLink._meta.db_table,
    "group": Group._meta.db_table,
}
_FRAME_WITH_CONVERSATIONS_SQL = _FRAME_SQL.format(conversations=_HAS_CONVERSATIONS_SQL, **_TABLES)
_FRAME_ALONE_SQL = _FRAME_SQL.format(conversations="FALSE", **_TABLES)


def chats_frame(person: Person, organization: Organization, *, conversations: bool) -> Frame:
    """The person's VK ID link, the college's active groups for the filters by course and name
    (F6) when there is a link, and — when `conversations` — whether the ЭПОС block (F30) has
    anything to list. One query."""
    if conversations:
        rows = fetch(
            _FRAME_WITH_CONVERSATIONS_SQL,
            [person.pk, organization.pk, Chat.Platform.EPOS.value, organization.pk, person.pk],
        )
    else:
        rows = fetch(_FRAME_ALONE_SQL, [organization.pk, person.pk])
    if not rows:  # no such person: nothing of theirs to show
        return Frame(vk_linked=False, groups=[], has_conversations=False)
    linked, has_conversations = rows[0][:2]
    groups = [GroupOption(*row[2:]) for row in rows if row[2] is not None]
    return Frame(bool(linked), groups, bool(has_conversations))


def epos_chats_of(person: Person, organization: Organization) -> tuple[list[Chat], bool]:
    """The person's ЭПОС conversations, newest message first, with unread counts, and whether
    there are more than shown (F30); one query."""
    from epos_chats.messaging_selectors import conversations_of

    return conversations_of(person, organization, limit=EPOS_CHATS_SHOWN)


def recent_chats(
    person: Person | int, organization: Organization, *, limit: int = RECENT_CHATS_SHOWN
) -> list[Chat]:
    """The desktop's «Личные сообщения»: the person's own VK chats changed last, in one query."""
    chats = Chat.objects.alive().filter(
        membership_of(person), organization=organization, platform=Chat.Platform.VK
    )
    return list(with_member_counts(chats).order_by("-changed_at", "title", "pk")[:limit])


@dataclass(frozen=True)
class MemberCounts:
    total: int
    linked: int


def member_counts(chat: Chat) -> MemberCounts:
    row = ChatMember.objects.filter(chat=chat).aggregate(
        total=Count("pk"), linked=Count("pk", filter=Q(person__vk_link__isnull=False))
    )
    return MemberCounts(total=row["total"], linked=row["linked"])


def members_page(chat: Chat, page_number: object) -> Page:
    """A page of the chat's members, admins first, then by FIO: two queries.

    Each member carries the person, their VK ID link (or None) and what they are in the chat's
    college: `position` (staff), `group_name` (student), `is_parent`.
    """
    of_person = {"organization_id": chat.organization_id, "person_id": OuterRef("person_id")}
    members = (
        ChatMember.objects.filter(chat=chat)
        .select_related("person", "person__vk_link")
        .annotate(
            staff_position=Subquery(
                StaffMember.objects.active().filter(**of_person).values("position")[:1]
            ),
            is_staff=Exists(StaffMember.objects.active().filter(**of_person)),
            group_name=Subquery(
                Student.objects.active().filter(**of_person).values("group__name")[:1]
            ),
            is_parent=Exists(Guardian.objects.active().filter(**of_person)),
        )
        .order_by(
            "-is_admin", "person__last_name", "person__first_name", "person__middle_name", "pk"
        )
    )
    return Paginator(members, MEMBERS_PER_PAGE).get_page(page_number)


# VK's peer id of a chat conversation is the chat id plus this.
CHAT_PEER_OFFSET = 2_000_000_000


def messenger_url(chat: Chat | None = None) -> str:
    """Where «VK Мессенджер», a chat's icon and its name lead (F10): the chat itself once the
    messenger has it (its `remote` row, loaded with the chat), else the messenger's client."""
    base = settings.VK_MESSENGER_WEB_URL
    remote = getattr(chat, "remote", None) if chat is not None else None
    if remote is None:
        return base
    return f"{base}/convo/{CHAT_PEER_OFFSET + remote.remote_chat_id}"

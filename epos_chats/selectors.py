"""Reads of chats for pages: «Чаты», a chat's settings, the desktop widget.

Each reader issues a fixed number of queries whatever the number of chats or members: the
counts come as correlated subqueries, computed for the page's rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from calls.models import OnlineCall
from directory.models import (
    Group,
    Guardian,
    Organization,
    Person,
    StaffMember,
    Student,
    Teaching,
)
from directory.selectors import Roles
from epos_chats.access import membership_of, visible_chats
from epos_chats.models import Chat, ChatMember
from vk_sync.models import VkLink

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


def vk_link_of(person: Person) -> VkLink | None:
    return VkLink.objects.filter(person=person).first()


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


def with_published_call(chats: QuerySet[Chat]) -> QuerySet[Chat]:
    """F26: `call_id`, `call_title`, `call_starts_at` of the chat's live published call (None
    without one), in the chats' own query: a LEFT JOIN that matches at most one row, as the
    partial unique index of F23 keeps one published call per chat."""
    published = Q(calls__status=OnlineCall.Status.PUBLISHED, calls__deleted_at__isnull=True)
    return chats.annotate(published_call=FilteredRelation("calls", condition=published)).annotate(
        call_id=F("published_call__pk"),
        call_title=F("published_call__title"),
        call_starts_at=F("published_call__starts_at"),
    )


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


def _teaching_label() -> Subquery:
    """«ИС-21 · Математика»: the group and discipline of the outer chat's group-by-discipline.

    A subquery rather than three joins: it runs for the page's rows only, and the planner of
    the page's query has fewer joins to order."""
    label = Concat("group__name", Value(" · "), "discipline__name", output_field=CharField())
    teaching = Teaching.objects.filter(pk=OuterRef("teaching_id")).order_by()
    return Subquery(teaching.annotate(label=label).values("label")[:1])


def chat_page(
    person: Person,
    organization: Organization,
    roles: Roles,
    query: ChatQuery,
    page_number: object,
) -> Page:
    """The page of chats for the VK block: two queries (the total and the page's rows).

    Each chat carries `member_count`, `linked_count`, `is_chat_admin` (the person is its
    admin), its published call (`with_published_call`), its `remote` row and `context_label`
    (its group, or the group and discipline of its group-by-discipline). A page number out of
    range or not a number gives the nearest page.

    The page's rows are picked first, by a subquery that sorts and filters bare chats; only
    those rows get the counts, the call and the joined rows, so a card costs the same in a
    college of 10 chats and of 1 000.
    """
    chats = filter_chats(visible_chats(person, organization, roles), query)
    page = Paginator(chats, CHATS_PER_PAGE).get_page(page_number)
    rows = Chat.objects.filter(pk__in=page.object_list.values("pk"))
    rows = with_member_counts(rows).annotate(
        is_chat_admin=membership_of(person, admin=True), teaching_label=_teaching_label()
    )
    rows = with_published_call(rows).select_related("group", "remote")
    page.object_list = list(rows.order_by(*chats.query.order_by))
    for chat in page.object_list:
        chat.context_label = chat.teaching_label or (
            chat.group.name if chat.group and chat.kind not in Chat.GROUP_KINDS else ""
        )
    return page


@dataclass(frozen=True)
class SyncState:
    """B1: where the chat stands in the messenger, for its card."""

    code: str  # "synced" | "pending" | "error"
    label: str
    reason: str = ""


def sync_state(chat: Chat) -> SyncState:
    """From the chat's `remote` row (select_related by `chat_page`): no query of its own."""
    remote = getattr(chat, "remote", None)
    if remote is not None and remote.last_error:
        return SyncState("error", "ошибка", remote.last_error)
    if remote is None or remote.synced_version is None or remote.synced_version < chat.changed_at:
        return SyncState("pending", "ожидает отправки")
    return SyncState("synced", "синхронизирован")


def group_options(organization: Organization) -> list[Group]:
    """The college's active groups for the filters, by course and name, in one query."""
    return list(
        Group.objects.active()
        .filter(organization=organization)
        .only("pk", "name", "course")
        .order_by("course", "name", "pk")
    )


def epos_chats_of(person: Person, organization: Organization) -> tuple[list[Chat], bool]:
    """The person's ЭПОС conversations, newest message first, with unread counts, and whether
    there are more than shown (F30); two queries."""
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

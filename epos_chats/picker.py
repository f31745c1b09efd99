"""The participant picker (F15, F17): who can be chosen, by tab, filters and FIO search, and the
selection kept in a `ChatDraft` while the person pages, switches tabs and filters.

Every query is bounded: a page of candidates is one query with a search and two without
(the count, then the page), whatever the college's size; «Выбрать всех» is one insert of ids
and «Снять всех» one delete. People have no college of their own — a region's directory is
one table of people with roles in colleges — so the queries start from what is selective:
the trigram index for a search, the college's role rows for a count, the FIO index for a page.

Why the selection lives on the server and not in the form: «Выбрать всех» may pick thousands
of people on pages the browser never loaded, and each tick must survive paging, tabs, filters,
a reload and a page that works without JavaScript. The page carries only the draft's id
(`?draft=…`); each tick is one small POST.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NamedTuple
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.utils import timezone

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
from epos_chats.models import Chat, ChatDraft, ChatDraftMember, ChatMember

PAGE_SIZE = 15
BY_FIO = ("last_name", "first_name", "middle_name", "pk")
ROW_FIELDS = ("pk", "last_name", "first_name", "middle_name")
TRIGRAM = 3  # the shortest part of a FIO the trigram index can find (directory/migrations/0003)
NO_DISCIPLINE = "none"
# A draft older than this was abandoned (a closed tab): the owner's next draft clears it.
DRAFT_TTL = dt.timedelta(days=1)

TABS = {
    "all": "Все",
    "parents": "Родители",
    "students": "Обучающиеся",
    "staff": "Сотрудники",
    "selected": "Выбранные",
}
# The seed's filters per tab: Родители have no «Дисциплина».
FILTERS = {
    "all": ("course", "group", "discipline"),
    "parents": ("course", "group"),
    "students": ("course", "group", "discipline"),
    "staff": ("course", "group", "discipline"),
    "selected": (),
}


@dataclass(frozen=True)
class PickerQuery:
    tab: str = "all"
    q: str = ""
    course: int | None = None
    group: int | None = None
    discipline: int | str | None = None  # an id, NO_DISCIPLINE (staff only) or None

    @classmethod
    def from_params(cls, params) -> PickerQuery:
        """From a GET/POST mapping; anything malformed is simply not applied."""
        tab = params.get("tab") if params.get("tab") in TABS else "all"
        allowed = FILTERS[tab]

        def number(name, low=1, high=None):
            try:
                value = int(params.get(name, ""))
            except (TypeError, ValueError):
                return None
            return value if value >= low and (high is None or value <= high) else None

        discipline = params.get("discipline")
        if discipline == NO_DISCIPLINE and tab == "staff":
            chosen = NO_DISCIPLINE
        else:
            chosen = number("discipline")
        return cls(
            tab=tab,
            q=" ".join(str(params.get("q", "")).split())[:100],
            course=number("course", 1, 6) if "course" in allowed else None,
            group=number("group") if "group" in allowed else None,
            discipline=chosen if "discipline" in allowed else None,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.course or self.group or self.discipline)

    def pairs(self, **changes) -> list[tuple[str, object]]:
        """The state as query-string pairs, with `changes` applied; defaults and the filters
        the tab does not offer are left out, so links stay short."""
        query = replace(self, **changes)
        allowed = FILTERS[query.tab]
        pairs = [
            ("tab", "" if query.tab == "all" else query.tab),
            ("q", query.q),
            ("course", query.course if "course" in allowed else None),
            ("group", query.group if "group" in allowed else None),
            ("discipline", query.discipline if "discipline" in allowed else None),
        ]
        return [(key, value) for key, value in pairs if value]

    def url(self, base: str, draft: ChatDraft, *, page: int | None = None, **changes) -> str:
        """The picker's page at `base` for this state: the draft first, then the state."""
        pairs = [("draft", draft.pk), *self.pairs(**changes)]
        if page and page > 1:
            pairs.append(("page", page))
        return f"{base}?{urlencode(pairs)}"


def _attends(discipline_id: int) -> Q:
    """The outer Student attends a group-by-discipline of this discipline: listed in its
    subgroup, or in its group when the group-by-discipline has no subgroup."""
    in_subgroup = Teaching.students.through.objects.filter(
        student=OuterRef("pk"), teaching__discipline_id=discipline_id, teaching__is_active=True
    )
    whole_group = Teaching.objects.filter(
        group=OuterRef("group_id"), discipline_id=discipline_id, is_active=True
    ).exclude(Exists(Teaching.students.through.objects.filter(teaching=OuterRef("pk"))))
    return Q(Exists(in_subgroup)) | Q(Exists(whole_group))


def _students(organization: Organization, query: PickerQuery, **link) -> QuerySet[Student]:
    """The students the filters leave; `link` ties them to an outer query. Each builder makes
    one `filter()` call: a query with subqueries costs more to clone than to run."""
    lookups = {"organization": organization, "is_active": True, **link}
    if query.course:
        lookups["group__course"] = query.course
    if query.group:
        lookups["group_id"] = query.group
    attends = [_attends(query.discipline)] if isinstance(query.discipline, int) else []
    return Student.objects.filter(*attends, **lookups)


def _staff(organization: Organization, query: PickerQuery, **link) -> QuerySet[StaffMember]:
    lookups = {"organization": organization, "is_active": True, **link}
    if query.discipline == NO_DISCIPLINE:
        # «Без дисциплины»: nobody in «Кадры» teaches them anything.
        return StaffMember.objects.filter(**lookups).exclude(teachings__is_active=True)
    if not (query.course or query.group or isinstance(query.discipline, int)):
        return StaffMember.objects.filter(**lookups)
    # Bounded to the college: the same rows, but PostgreSQL may hash a subquery whole, and
    # then it reads the college's teachings and curators rather than the region's.
    teaches = {"organization": organization, "teachers": OuterRef("pk"), "is_active": True}
    curates = {
        "staffmember": OuterRef("pk"),
        "group__organization": organization,
        "group__is_active": True,
    }
    if query.course:
        teaches["group__course"] = curates["group__course"] = query.course
    if query.group:
        teaches["group_id"] = curates["group_id"] = query.group
    if isinstance(query.discipline, int):
        teaches["discipline_id"] = query.discipline
    condition = Q(Exists(Teaching.objects.filter(**teaches)))
    if not isinstance(query.discipline, int):
        # A curator belongs to their group too, when no discipline narrows the choice.
        condition |= Q(Exists(StaffMember.curated_groups.through.objects.filter(**curates)))
    return StaffMember.objects.filter(condition, **lookups)


def _guardians(organization: Organization, query: PickerQuery, **link) -> QuerySet[Guardian]:
    lookups = {"organization": organization, "is_active": True, **link}
    if query.course or query.group or isinstance(query.discipline, int):
        children = Exists(_students(organization, query, guardians=OuterRef("pk")))
        return Guardian.objects.filter(children, **lookups)
    return Guardian.objects.filter(**lookups)


def _roles(organization: Organization, query: PickerQuery, **link) -> list[QuerySet]:
    """The tab's roles in the college that make a person a candidate (not «Выбранные»)."""
    parts = {
        "students": (_students,),
        "parents": (_guardians,),
        "staff": (_staff,),
        "all": (_students, _guardians, _staff),
    }[query.tab]
    return [part(organization, query, **link) for part in parts]


def _role_people(organization: Organization, query: PickerQuery, *, duplicates: bool):
    """The ids of the people with the tab's roles; with `duplicates`, once per role (cheaper,
    for `IN`), otherwise once per person."""
    first, *others = (roles.order_by().values("person_id") for roles in _roles(organization, query))
    return first.union(*others, all=duplicates) if others else first


def candidates(
    organization: Organization, query: PickerQuery, draft: ChatDraft | None = None
) -> QuerySet[Person]:
    """The people the tab offers, ordered by FIO; «Выбранные» lists the draft."""
    words = query.q.upper().split()
    if query.tab == "selected":
        if draft is None:
            return Person.objects.none()
        condition = Q(Exists(ChatDraftMember.objects.filter(draft=draft, person=OuterRef("pk"))))
    elif words and max(map(len, words)) < TRIGRAM:
        # Too short for the trigram index, such a search matches most of the region: start from
        # the college's roles rather than from everyone in the directory.
        condition = Q(pk__in=_role_people(organization, query, duplicates=True))
    else:
        condition = Q()
        for roles in _roles(organization, query, person=OuterRef("pk")):
            condition |= Q(Exists(roles))
    found = [Q(fio_search__contains=word) for word in words]
    return Person.objects.filter(condition, *found).order_by(*BY_FIO)


def count_of(organization: Organization, query: PickerQuery, draft: ChatDraft | None) -> int:
    """How many people the tab offers. Without a search, counted in the role tables: a person
    has one role of a kind in a college, so the roles (their union on «Все») are the people,
    and the count reads the college's rows only, not the region's directory."""
    if query.q:
        return candidates(organization, query, draft).count()
    if query.tab == "selected":
        return ChatDraftMember.objects.filter(draft=draft).count() if draft else 0
    return _role_people(organization, query, duplicates=False).count()


def annotate_rows(
    people: QuerySet[Person], organization: Organization, draft: ChatDraft | None, **extra
) -> QuerySet[Person]:
    """What a row shows: the role in the college and whether the draft holds the person; with
    `extra` annotations. One `annotate()`: each call clones the candidates' query."""
    active = {"organization": organization, "is_active": True, "person": OuterRef("pk")}
    if draft is None:
        selected = selected_admin = Value(False, output_field=BooleanField())
    else:
        mine = {"draft": draft, "person": OuterRef("pk")}
        selected = Exists(ChatDraftMember.objects.filter(**mine))
        selected_admin = Exists(ChatDraftMember.objects.filter(**mine, is_admin=True))
    # A person has at most one role of each kind in a college: no ordering (the roles' default
    # one, by the person's name, would cost a join and a sort per row).
    return people.annotate(
        student_group=Subquery(
            Student.objects.filter(**active).order_by().values("group__name")[:1]
        ),
        staff_position=Subquery(
            StaffMember.objects.filter(**active).order_by().values("position")[:1]
        ),
        is_parent=Exists(Guardian.objects.filter(**active)),
        selected=selected,
        selected_admin=selected_admin,
        **extra,
    )


def page_of(
    organization: Organization, query: PickerQuery, draft: ChatDraft | None, number
) -> Page:
    """A page of the tab's candidates as the rows show them, with the exact count of all.

    A search is one query: its count comes with the page, a window over the rows the search
    reads anyway. Without one the count comes from `count_of`, and the page walks the FIO index
    (directory/migrations/0006) until it has its rows, whose roles and ticks are then looked up
    for those 15 people only.
    """
    try:
        # No college has a millionth page: a larger number reads as «past the end» without
        # overflowing the OFFSET it would become.
        number = min(max(1, int(number)), 1_000_000)
    except (TypeError, ValueError, OverflowError):
        number = 1
    people = candidates(organization, query, draft).only(*ROW_FIELDS)
    rows = []
    if query.q:
        found = Window(Count("pk"))
        rows = list(_cut(annotate_rows(people, organization, draft, found=found), number))
    if rows:
        count = rows[0].found
    else:  # no search, nothing found, or a page past the end (then the last page is shown)
        count = count_of(organization, query, draft) if not query.q or number > 1 else 0
    # The count is known: a range stands in for the rows, so the paginator does not count.
    page = Paginator(range(count), PAGE_SIZE).get_page(number)
    if not rows and count:
        # The page's people first, then their rows: PostgreSQL plans the roles and ticks for
        # 15 people, not for the thousands the walk may pass.
        ids = _cut(people, page.number).values("pk")
        shown = Person.objects.filter(pk__in=ids).only(*ROW_FIELDS).order_by(*BY_FIO)
        rows = list(annotate_rows(shown, organization, draft))
    page.object_list = rows
    return page


def _cut(people: QuerySet[Person], number: int) -> QuerySet[Person]:
    start = (number - 1) * PAGE_SIZE
    return people[start : start + PAGE_SIZE]


class Choice(NamedTuple):
    """An option of a filter's select: a group (with its course) or a discipline."""

    pk: int
    name: str
    course: int = 0


@dataclass(frozen=True)
class FilterOptions:
    courses: list[int]
    groups: list[Choice]
    disciplines: list[Choice]

    def groups_of(self, course: int | None) -> list[Choice]:
        """The group select offers the chosen course's groups only."""
        return [group for group in self.groups if not course or group.course == course]


def filter_options(organization: Organization) -> FilterOptions:
    """What the «Курс», «Группа» and «Дисциплина» selects offer: two queries of plain rows (a
    college has hundreds of groups: model instances would cost more than the queries)."""
    groups = [
        Choice(*row)
        for row in Group.objects.active()
        .filter(organization=organization)
        .order_by("course", "name", "pk")
        .values_list("pk", "name", "course")
    ]
    disciplines = [
        Choice(*row)
        for row in Discipline.objects.active()
        .filter(organization=organization)
        .order_by("name", "pk")
        .values_list("pk", "name")
    ]
    return FilterOptions(sorted({g.course for g in groups}), groups, disciplines)


def consistent(query: PickerQuery, options: FilterOptions) -> PickerQuery:
    """Drop a group of another course than the chosen one, or of another college: the URL
    may come from an older page."""
    if query.group and query.group not in {g.pk for g in options.groups_of(query.course)}:
        return replace(query, group=None)
    return query


def row_of(draft: ChatDraft, person_id: int) -> Person | None:
    """One row of the picker as the page shows it, after a change: one query."""
    people = candidates(draft.organization, PickerQuery(), draft).filter(pk=person_id)
    return annotate_rows(people, draft.organization, draft).first()


# --- the draft ------------------------------------------------------------------------------


def draft_open(*, owner: Person, organization: Organization, chat: Chat | None = None) -> ChatDraft:
    """A fresh selection; for an existing chat it starts from the chat's members.

    The owner's abandoned drafts (older than `DRAFT_TTL`) go at the same time.
    """
    with transaction.atomic():
        ChatDraft.objects.filter(owner=owner, created_at__lt=timezone.now() - DRAFT_TTL).delete()
        draft = ChatDraft.objects.create(owner=owner, organization=organization, chat=chat)
        if chat is not None:
            ChatDraftMember.objects.bulk_create(
                ChatDraftMember(draft=draft, person_id=pk, is_admin=admin)
                for pk, admin in ChatMember.objects.filter(chat=chat).values_list(
                    "person_id", "is_admin"
                )
            )
    return draft


def draft_of(*, owner: Person, organization: Organization, draft_id) -> ChatDraft | None:
    """The person's own draft in this college, or None (a crafted id finds nothing). It comes
    with its counts as read (`selected_count`, `admin_count`) and with its college, so the page
    that shows it asks for neither again."""
    try:
        draft_id = int(draft_id)
    except (TypeError, ValueError):
        return None
    draft = (
        ChatDraft.objects.filter(pk=draft_id, owner=owner, organization=organization)
        .annotate(
            selected_count=Count("members"),
            admin_count=Count("members", filter=Q(members__is_admin=True)),
        )
        .first()
    )
    if draft is not None:
        draft.organization = organization
    return draft


def draft_select(draft: ChatDraft, person_id: int, *, selected: bool) -> bool:
    """Tick or untick one row; only people of the college can be ticked."""
    if not selected:
        ChatDraftMember.objects.filter(draft=draft, person_id=person_id).delete()
        return True
    if not candidates(draft.organization, PickerQuery()).filter(pk=person_id).exists():
        return False
    ChatDraftMember.objects.get_or_create(draft=draft, person_id=person_id)
    return True


def draft_set_admin(draft: ChatDraft, person_id: int, *, is_admin: bool) -> bool:
    """The row's «Администратор чата»; marking an unselected person selects them too."""
    if is_admin and not draft_select(draft, person_id, selected=True):
        return False
    ChatDraftMember.objects.filter(draft=draft, person_id=person_id).update(is_admin=is_admin)
    return True


def draft_select_all(draft: ChatDraft, query: PickerQuery) -> int:
    """«Выбрать всех»: everyone the tab and filters match, across pages."""
    ids = candidates(draft.organization, query, draft).values_list("pk", flat=True)
    rows = [ChatDraftMember(draft=draft, person_id=pk) for pk in ids.iterator(chunk_size=2000)]
    ChatDraftMember.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def draft_unselect_all(draft: ChatDraft, query: PickerQuery) -> int:
    matching = candidates(draft.organization, query, draft).values("pk")
    deleted, _ = ChatDraftMember.objects.filter(draft=draft, person__in=matching).delete()
    return deleted


def draft_members(draft: ChatDraft) -> dict[int, bool]:
    return dict(ChatDraftMember.objects.filter(draft=draft).values_list("person_id", "is_admin"))


def draft_counts(draft: ChatDraft) -> tuple[int, int]:
    """(selected, admins) for the «Выбранные» tab's label."""
    counts = ChatDraftMember.objects.filter(draft=draft).aggregate(
        selected=Count("pk"), admins=Count("pk", filter=Q(is_admin=True))
    )
    return counts["selected"], counts["admins"]

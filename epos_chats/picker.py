"""The participant picker (F15, F17): who can be chosen, by tab, filters and FIO search, and the
selection kept in a `ChatDraft` while the person pages, switches tabs and filters.

Every query is bounded: the candidates are one paged query (with a count), whatever the
college's size; «Выбрать всех» is one insert of ids and «Снять всех» one delete.

Why the selection lives on the server and not in the form: «Выбрать всех» may pick thousands
of people on pages the browser never loaded, and each tick must survive paging, tabs, filters,
a reload and a page that works without JavaScript. The page carries only the draft's id
(`?draft=…`); each tick is one small POST.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
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


def _students(organization: Organization, query: PickerQuery) -> QuerySet[Student]:
    students = Student.objects.filter(organization=organization, is_active=True)
    if query.course:
        students = students.filter(group__course=query.course)
    if query.group:
        students = students.filter(group_id=query.group)
    if isinstance(query.discipline, int):
        students = students.filter(_attends(query.discipline))
    return students


def _staff(organization: Organization, query: PickerQuery) -> QuerySet[StaffMember]:
    staff = StaffMember.objects.filter(organization=organization, is_active=True)
    if query.discipline == NO_DISCIPLINE:
        # «Без дисциплины»: nobody in «Кадры» teaches them anything.
        return staff.exclude(teachings__is_active=True)
    teaches = Teaching.objects.filter(teachers=OuterRef("pk"), is_active=True)
    if query.course or query.group or isinstance(query.discipline, int):
        if query.course:
            teaches = teaches.filter(group__course=query.course)
        if query.group:
            teaches = teaches.filter(group_id=query.group)
        if isinstance(query.discipline, int):
            teaches = teaches.filter(discipline_id=query.discipline)
        # A curator belongs to their group too, when no discipline narrows the choice.
        curates = staff.model.curated_groups.through.objects.filter(staffmember=OuterRef("pk"))
        if query.course:
            curates = curates.filter(group__course=query.course)
        if query.group:
            curates = curates.filter(group_id=query.group)
        condition = Q(Exists(teaches))
        if not isinstance(query.discipline, int):
            condition |= Q(Exists(curates.filter(group__is_active=True)))
        staff = staff.filter(condition)
    return staff


def _guardians(organization: Organization, query: PickerQuery) -> QuerySet[Guardian]:
    guardians = Guardian.objects.filter(organization=organization, is_active=True)
    if query.course or query.group or isinstance(query.discipline, int):
        children = _students(organization, query).filter(guardians=OuterRef("pk"))
        guardians = guardians.filter(Exists(children))
    return guardians


def candidates(
    organization: Organization, query: PickerQuery, draft: ChatDraft | None = None
) -> QuerySet[Person]:
    """The people the tab offers, ordered by FIO; «Выбранные» lists the draft."""
    people = Person.objects.all()
    if query.tab == "selected":
        if draft is None:
            return Person.objects.none()
        people = people.filter(
            Exists(ChatDraftMember.objects.filter(draft=draft, person=OuterRef("pk")))
        )
    else:
        parts = {
            "students": (_students,),
            "parents": (_guardians,),
            "staff": (_staff,),
            "all": (_students, _guardians, _staff),
        }[query.tab]
        condition = Q()
        for part in parts:
            condition |= Q(Exists(part(organization, query).filter(person=OuterRef("pk"))))
        people = people.filter(condition)
    for word in query.q.upper().split():
        people = people.filter(fio_search__contains=word)
    return people.order_by("last_name", "first_name", "middle_name", "pk")


def annotate_rows(people: QuerySet[Person], organization: Organization, draft: ChatDraft | None):
    """What a row shows: the role in the college and whether the draft holds the person."""
    active = {"organization": organization, "is_active": True}
    people = people.annotate(
        student_group=Subquery(
            Student.objects.filter(person=OuterRef("pk"), **active).values("group__name")[:1]
        ),
        staff_position=Subquery(
            StaffMember.objects.filter(person=OuterRef("pk"), **active).values("position")[:1]
        ),
        is_parent=Exists(Guardian.objects.filter(person=OuterRef("pk"), **active)),
    )
    if draft is None:
        return people.annotate(
            selected=Value(False, output_field=BooleanField()),
            selected_admin=Value(False, output_field=BooleanField()),
        )
    mine = ChatDraftMember.objects.filter(draft=draft, person=OuterRef("pk"))
    return people.annotate(selected=Exists(mine), selected_admin=Exists(mine.filter(is_admin=True)))


@dataclass(frozen=True)
class FilterOptions:
    courses: list[int]
    groups: list[Group]
    disciplines: list[Discipline]

    def groups_of(self, course: int | None) -> list[Group]:
        """The group select offers the chosen course's groups only."""
        return [group for group in self.groups if not course or group.course == course]


def filter_options(organization: Organization) -> FilterOptions:
    """What the «Курс», «Группа» and «Дисциплина» selects offer: two queries."""
    groups = list(
        Group.objects.active()
        .filter(organization=organization)
        .only("pk", "name", "course")
        .order_by("course", "name", "pk")
    )
    disciplines = list(
        Discipline.objects.active()
        .filter(organization=organization)
        .only("pk", "name")
        .order_by("name", "pk")
    )
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
    """The person's own draft in this college, or None (a crafted id finds nothing)."""
    try:
        draft_id = int(draft_id)
    except (TypeError, ValueError):
        return None
    return ChatDraft.objects.filter(pk=draft_id, owner=owner, organization=organization).first()


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

"""The participant picker (F15, F17): who can be chosen, by tab, filters and FIO search, and the
selection kept in a `ChatDraft` while the person pages, switches tabs and filters.

Every query is bounded: a page of candidates is one query, with its count, whatever the
college's size; «Выбрать всех» is one insert of ids and «Снять всех» one delete. People have
no college of their own — a region's directory is one table of people with roles in colleges —
so the candidates are read from the college's people (directory.CollegePerson, kept by
triggers): a search meets the college in one index scan, a list walks the college's FIO order.

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
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from directory.models import (
    CollegePerson,
    Discipline,
    Group,
    Guardian,
    Organization,
    Person,
    StaffMember,
    Student,
    Teaching,
)
from directory.selectors import Columns, fetch
from epos_chats.models import Chat, ChatDraft, ChatDraftMember, ChatMember

PAGE_SIZE = 15
BY_FIO = ("last_name", "first_name", "middle_name", "pk")
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


# --- who can be chosen, in SQL ---------------------------------------------------------------
# Written by hand, not with the ORM: the picker's page is one query whose shape follows the tab
# and the filters, and compiling it through the ORM cost twice as long as PostgreSQL took to
# run it. Each piece below is one rule of the seed's filters; the page, the count, «Выбрать
# всех», «Снять всех» and a single tick all read who is a candidate from `_people`.

_PERSON = Person._meta.db_table
_STUDENT = Student._meta.db_table
_GUARDIAN = Guardian._meta.db_table
_CHILDREN = Guardian.children.through._meta.db_table
_STAFF = StaffMember._meta.db_table
_CURATORS = Group.curators.through._meta.db_table
_GROUP = Group._meta.db_table
_TEACHING = Teaching._meta.db_table
_TEACHERS = Teaching.teachers.through._meta.db_table
_SUBGROUP = Teaching.students.through._meta.db_table
_DISCIPLINE = Discipline._meta.db_table
_DRAFT_MEMBER = ChatDraftMember._meta.db_table
_CHAT_MEMBER = ChatMember._meta.db_table


class Sql(NamedTuple):
    """A piece of SQL and its parameters, in the order of its placeholders."""

    text: str
    params: tuple = ()


def _all(parts: list[Sql], glue: str = " AND ") -> Sql:
    return Sql(glue.join(part.text for part in parts), sum((part.params for part in parts), ()))


class _Role(NamedTuple):
    """One kind of role in the college narrowed by the filters: `FROM … WHERE …` over the role
    rows, and the column of their person."""

    person: str
    rows: Sql

    def exists_for(self, person: str) -> Sql:
        """Whether `person` holds the role. On PostgreSQL behind `OFFSET 0`, which keeps the
        check a check: the planner would otherwise join the role table to the college's people
        and, misled by the region-wide spread of person ids, read all the college's roles to
        keep a page of fifteen. As a check it looks up the found people one by one after a
        search, or hashes the narrowed roles once when walking the college's list."""
        fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
        return Sql(
            f"EXISTS (SELECT 1 {self.rows.text} AND {self.person} = {person}{fence})",
            self.rows.params,
        )

    def people(self) -> Sql:
        return Sql(f"SELECT {self.person} {self.rows.text}", self.rows.params)


def _attends(discipline_id: int) -> Sql:
    """The student `s` attends a group-by-discipline of this discipline: listed in its
    subgroup, or in its group when the group-by-discipline has no subgroup."""
    return Sql(
        f"""(EXISTS (
            SELECT 1 FROM {_SUBGROUP} ts INNER JOIN {_TEACHING} t ON t.id = ts.teaching_id
            WHERE ts.student_id = s.id AND t.discipline_id = %s AND t.is_active
        ) OR EXISTS (
            SELECT 1 FROM {_TEACHING} t
            WHERE t.group_id = s.group_id AND t.discipline_id = %s AND t.is_active
                AND NOT EXISTS (SELECT 1 FROM {_SUBGROUP} ts WHERE ts.teaching_id = t.id)
        ))""",
        (discipline_id, discipline_id),
    )


def _students(organization_id: int, query: PickerQuery) -> _Role:
    """The college's active students `s` the filters leave."""
    joins = ""
    where = [Sql("s.organization_id = %s AND s.is_active", (organization_id,))]
    if query.course:
        joins = f" INNER JOIN {_GROUP} sg ON sg.id = s.group_id"
        # The group's college too (the student's, always): PostgreSQL then reads the college's
        # groups of the course, not the region's.
        where.append(
            Sql("sg.organization_id = %s AND sg.course = %s", (organization_id, query.course))
        )
    if query.group:
        where.append(Sql("s.group_id = %s", (query.group,)))
    if isinstance(query.discipline, int):
        where.append(_attends(query.discipline))
    condition = _all(where)
    return _Role(
        "s.person_id", Sql(f"FROM {_STUDENT} s{joins} WHERE {condition.text}", condition.params)
    )


def _guardians(organization_id: int, query: PickerQuery) -> _Role:
    """The college's active parents; with a filter, those with a child it leaves."""
    where = [Sql("gu.organization_id = %s AND gu.is_active", (organization_id,))]
    if query.course or query.group or isinstance(query.discipline, int):
        children = _students(organization_id, query).rows
        where.append(
            Sql(
                f"EXISTS (SELECT 1 FROM {_CHILDREN} gc WHERE gc.guardian_id = gu.id AND EXISTS "
                f"(SELECT 1 {children.text} AND s.id = gc.student_id))",
                children.params,
            )
        )
    condition = _all(where)
    return _Role(
        "gu.person_id", Sql(f"FROM {_GUARDIAN} gu WHERE {condition.text}", condition.params)
    )


def _staff(organization_id: int, query: PickerQuery) -> _Role:
    """The college's active staff; a filter leaves those who teach in it or, with no
    discipline chosen, curate a group of it; «Без дисциплины», those who teach nothing."""
    where = [Sql("sm.organization_id = %s AND sm.is_active", (organization_id,))]
    if query.discipline == NO_DISCIPLINE:
        where.append(
            Sql(
                f"NOT EXISTS (SELECT 1 FROM {_TEACHERS} tt INNER JOIN {_TEACHING} t"
                " ON t.id = tt.teaching_id WHERE tt.staffmember_id = sm.id AND t.is_active)"
            )
        )
    elif query.course or query.group or isinstance(query.discipline, int):
        # Bounded to the college: the same rows, but PostgreSQL may hash a subquery whole,
        # and then it reads the college's teachings and curators rather than the region's.
        teaches = [Sql("t.organization_id = %s AND t.is_active", (organization_id,))]
        curates = [Sql("g.organization_id = %s AND g.is_active", (organization_id,))]
        if query.course:
            teaches.append(Sql("tg.course = %s", (query.course,)))
            curates.append(Sql("g.course = %s", (query.course,)))
        if query.group:
            teaches.append(Sql("t.group_id = %s", (query.group,)))
            curates.append(Sql("g.id = %s", (query.group,)))
        if isinstance(query.discipline, int):
            teaches.append(Sql("t.discipline_id = %s", (query.discipline,)))
        teaching = _all(teaches)
        either = [
            Sql(
                f"EXISTS (SELECT 1 FROM {_TEACHERS} tt INNER JOIN {_TEACHING} t"
                f" ON t.id = tt.teaching_id INNER JOIN {_GROUP} tg ON tg.id = t.group_id"
                f" WHERE tt.staffmember_id = sm.id AND {teaching.text})",
                teaching.params,
            )
        ]
        if not isinstance(query.discipline, int):
            # A curator belongs to their group too, when no discipline narrows the choice.
            curating = _all(curates)
            either.append(
                Sql(
                    f"EXISTS (SELECT 1 FROM {_CURATORS} gc INNER JOIN {_GROUP} g"
                    f" ON g.id = gc.group_id WHERE gc.staffmember_id = sm.id AND {curating.text})",
                    curating.params,
                )
            )
        where.append(Sql(f"({_all(either, ' OR ').text})", _all(either).params))
    condition = _all(where)
    return _Role("sm.person_id", Sql(f"FROM {_STAFF} sm WHERE {condition.text}", condition.params))


def _roles(organization_id: int, query: PickerQuery) -> list[_Role]:
    """The tab's roles in the college that make a person a candidate (not «Выбранные»)."""
    parts = {
        "students": (_students,),
        "parents": (_guardians,),
        "staff": (_staff,),
        "all": (_students, _guardians, _staff),
    }[query.tab]
    return [part(organization_id, query) for part in parts]


def _role_people(organization_id: int, query: PickerQuery, *, duplicates: bool) -> Sql:
    """The ids of the people with the tab's roles; with `duplicates`, once per role (cheaper,
    for `IN`), otherwise once per person."""
    glue = " UNION ALL " if duplicates else " UNION "
    return _all([role.people() for role in _roles(organization_id, query)], glue)


def _words(query: PickerQuery) -> list[str]:
    return query.q.upper().split()


# Who can be chosen is read from the college's people (directory.CollegePerson): their names
# and search column sit next to the college, so a search meets the college in one index scan
# and a list walks the college's own FIO order. «Выбранные» reads the directory instead: a
# chat being edited may hold people who have since left the college.
_COLLEGE = f"{CollegePerson._meta.db_table} c"
_ANYONE = (
    f"(SELECT id AS person_id, last_name, first_name, middle_name, fio_search FROM {_PERSON}) c"
)


def _people(
    organization_id: int, query: PickerQuery, draft_id: int | None, narrowed: Sql | None = None
) -> Sql:
    """`FROM … WHERE …` of the candidates `c` (with `person_id`, the names and `fio_search`):
    of the tab (the draft's people on «Выбранные»), found by every word of the search, and
    meeting `narrowed` (a further condition on `c`)."""
    if query.tab == "selected":
        source = _ANYONE
        where = [
            Sql(
                f"EXISTS (SELECT 1 FROM {_DRAFT_MEMBER} d"
                " WHERE d.draft_id = %s AND d.person_id = c.person_id)",
                (draft_id,),
            )
        ]
    else:
        source = _COLLEGE
        where = [Sql("c.organization_id = %s", (organization_id,))]
        if query.group:
            # One group's students, their parents and teachers are a few dozen people: the
            # page starts from them rather than walking the college's list for its fifteen.
            people = _role_people(organization_id, query, duplicates=True)
            where.append(Sql(f"c.person_id IN ({people.text})", people.params))
        elif query.tab != "all" or query.course or query.discipline:
            # Anyone of the college holds one of the roles: only a tab or a filter narrows.
            roles = _roles(organization_id, query)
            either = _all([role.exists_for("c.person_id") for role in roles], " OR ")
            where.append(Sql(f"({either.text})", either.params))
    contains = connection.operators["contains"]  # LIKE, with the escape SQLite needs
    for word in _words(query):
        where.append(
            Sql(f"c.fio_search {contains}", (f"%{connection.ops.prep_for_like_query(word)}%",))
        )
    if narrowed is not None:
        where.append(narrowed)
    condition = _all(where)
    return Sql(f"FROM {source} WHERE {condition.text}", condition.params)


def _count_sql(
    organization_id: int, query: PickerQuery, draft_id: int | None, narrowed: Sql | None
) -> Sql:
    """How many people the tab offers. Without a search, the college's people or, on a tab
    or with a filter, its role rows: a person has one role of a kind in a college, so the
    roles (their union on «Все») are the people."""
    if query.q or narrowed is not None:
        people = _people(organization_id, query, draft_id, narrowed)
        return Sql(f"SELECT COUNT(*) {people.text}", people.params)
    if query.tab == "selected":
        return Sql(f"SELECT COUNT(*) FROM {_DRAFT_MEMBER} d WHERE d.draft_id = %s", (draft_id,))
    if query.tab == "all" and not (query.course or query.group or query.discipline):
        return Sql(
            f"SELECT COUNT(*) FROM {_COLLEGE} WHERE c.organization_id = %s", (organization_id,)
        )
    people = _role_people(organization_id, query, duplicates=False)
    return Sql(f"SELECT COUNT(*) FROM ({people.text}) people", people.params)


def count_of(
    organization: Organization,
    query: PickerQuery,
    draft: ChatDraft | None,
    narrowed: Sql | None = None,
) -> int:
    count = _count_sql(organization.pk, query, draft.pk if draft else None, narrowed)
    return fetch(count.text, count.params)[0][0]


def candidates(
    organization: Organization, query: PickerQuery, draft: ChatDraft | None = None
) -> QuerySet[Person]:
    """The people the tab offers, ordered by FIO, as a queryset (for a few people at a time:
    pages go through `page_of`)."""
    people = _people(organization.pk, query, draft.pk if draft else None)
    ids = RawSQL(f"SELECT c.person_id {people.text}", people.params)
    return Person.objects.filter(pk__in=ids).order_by(*BY_FIO)


@dataclass(frozen=True, slots=True)
class Row:
    """A person as the picker's row shows them: the FIO, the roles in the college (the group
    when a student, the position when staff, whether a parent) and the draft's ticks."""

    pk: int
    last_name: str
    first_name: str
    middle_name: str
    student_group: str | None
    staff_position: str | None
    is_parent: bool
    selected: bool = False
    selected_admin: bool = False

    full_name = property(Person.full_name.fget)


_BY_NAME = "c.last_name, c.first_name, c.middle_name, c.person_id"


def _rows(organization_id: int, draft_id: int | None, people: Sql) -> Sql:
    """The rows of `people` — a subquery of (id, last_name, first_name, middle_name, found) —
    with their roles and ticks, looked up for those people only. A person has at most one role
    of each kind in a college (the models' constraints)."""
    # The tick: NULL when the draft does not hold the person, else whether as an admin.
    tick = f"SELECT d.is_admin FROM {_DRAFT_MEMBER} d WHERE d.draft_id = %s AND d.person_id = r.id"
    return Sql(
        f"""SELECT r.id, r.last_name, r.first_name, r.middle_name,
            (SELECT g.name FROM {_STUDENT} s INNER JOIN {_GROUP} g ON g.id = s.group_id
             WHERE s.person_id = r.id AND s.organization_id = %s AND s.is_active),
            (SELECT sm.position FROM {_STAFF} sm
             WHERE sm.person_id = r.id AND sm.organization_id = %s AND sm.is_active),
            EXISTS (SELECT 1 FROM {_GUARDIAN} gu
                    WHERE gu.person_id = r.id AND gu.organization_id = %s AND gu.is_active),
            ({tick}), r.found
        FROM ({people.text}) r
        ORDER BY r.last_name, r.first_name, r.middle_name, r.id""",
        (organization_id, organization_id, organization_id, draft_id, *people.params),
    )


def _row(values) -> Row:
    *fields, is_parent, tick = values
    return Row(*fields, bool(is_parent), tick is not None, bool(tick))


def page_of(
    organization: Organization,
    query: PickerQuery,
    draft: ChatDraft | None,
    number,
    *,
    narrowed: Sql | None = None,
) -> Page:
    """A page of the tab's candidates as the rows show them, with the exact count of all, in
    one query: a search counts with a window over the rows it reads anyway; a list without one
    takes its count from `_count_sql` and walks the college's FIO order
    (collegeperson_fio_order) until it has its rows. Roles and ticks are read for the page's
    people only. A page past the end costs a second query for the last one."""
    try:
        # No college has a millionth page: a larger number reads as «past the end» without
        # overflowing the OFFSET it would become.
        number = min(max(1, int(number)), 1_000_000)
    except (TypeError, ValueError, OverflowError):
        number = 1
    draft_id = draft.pk if draft else None
    windowed = bool(query.q) or narrowed is not None
    people = _people(organization.pk, query, draft_id, narrowed)
    count = (
        Sql("COUNT(*) OVER ()") if windowed else _count_sql(organization.pk, query, draft_id, None)
    )

    def rows_of(page_number: int) -> list[tuple]:
        page = Sql(
            f"SELECT c.person_id AS id, c.last_name, c.first_name, c.middle_name,"
            f" ({count.text}) AS found {people.text} ORDER BY {_BY_NAME} LIMIT %s OFFSET %s",
            (*count.params, *people.params, PAGE_SIZE, (page_number - 1) * PAGE_SIZE),
        )
        rows = _rows(organization.pk, draft_id, page)
        return fetch(rows.text, rows.params)

    found = rows_of(number)
    if found:
        total = found[0][-1]
    elif number > 1:  # past the end: the last page is shown
        total = count_of(organization, query, draft, narrowed)
    else:
        total = 0
    # The count is known: a range stands in for the rows, so the paginator does not count.
    page = Paginator(range(total), PAGE_SIZE).get_page(number)
    if not found and total:
        found = rows_of(page.number)
    page.object_list = [_row(values[:-1]) for values in found]
    return page


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


_OPTIONS_SQL = f"""
    SELECT kind, id, name, course FROM (
        SELECT 1 AS kind, id, name, course FROM {_GROUP}
        WHERE organization_id = %s AND is_active
        UNION ALL
        SELECT 2, id, name, 0 FROM {_DISCIPLINE}
        WHERE organization_id = %s AND is_active
    ) options
"""


def filter_options(organization: Organization) -> FilterOptions:
    """What the «Курс», «Группа» and «Дисциплина» selects offer, in one query of plain rows (a
    college has hundreds of groups: model instances would cost more than the query)."""
    groups, disciplines = [], []
    for kind, *choice in fetch(_OPTIONS_SQL, (organization.pk, organization.pk)):
        (groups if kind == 1 else disciplines).append(Choice(*choice))
    # Ordered here, by code point as SQLite and a C-collated PostgreSQL would: sorting a few
    # hundred names took PostgreSQL longer than reading them.
    groups.sort(key=lambda group: (group.course, group.name, group.pk))
    disciplines.sort(key=lambda discipline: (discipline.name, discipline.pk))
    return FilterOptions(sorted({g.course for g in groups}), groups, disciplines)


def consistent(query: PickerQuery, options: FilterOptions) -> PickerQuery:
    """Drop a group of another course than the chosen one, or of another college: the URL
    may come from an older page."""
    if query.group and query.group not in {g.pk for g in options.groups_of(query.course)}:
        return replace(query, group=None)
    return query


def row_of(draft: ChatDraft, person_id: int) -> Row | None:
    """One row of the picker as the page shows it, after a change: one query. None when the
    person is no candidate of the college."""
    people = _people(
        draft.organization_id, PickerQuery(), draft.pk, Sql("c.person_id = %s", (person_id,))
    )
    person = Sql(
        f"SELECT c.person_id AS id, c.last_name, c.first_name, c.middle_name, 1 AS found"
        f" {people.text}",
        people.params,
    )
    rows = _rows(draft.organization_id, draft.pk, person)
    found = fetch(rows.text, rows.params)
    return _row(found[0][:-1]) if found else None


def others_than(person_id: int, chat_id: int | None = None) -> Sql:
    """A `narrowed` condition: anyone but the person, and, with `chat_id`, not in that chat."""
    parts = [Sql("c.person_id <> %s", (person_id,))]
    if chat_id is not None:
        parts.append(
            Sql(
                f"NOT EXISTS (SELECT 1 FROM {_CHAT_MEMBER} m"
                " WHERE m.chat_id = %s AND m.person_id = c.person_id)",
                (chat_id,),
            )
        )
    return _all(parts)


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


_DRAFT = Columns(ChatDraft, "d")
_DRAFT_SQL = f"""
    SELECT {_DRAFT.sql},
        (SELECT COUNT(*) FROM {_DRAFT_MEMBER} m WHERE m.draft_id = d.id),
        (SELECT COUNT(*) FROM {_DRAFT_MEMBER} m WHERE m.draft_id = d.id AND m.is_admin)
    FROM {ChatDraft._meta.db_table} d
    WHERE d.id = %s AND d.owner_id = %s AND d.organization_id = %s
"""


def draft_of(*, owner: Person, organization: Organization, draft_id) -> ChatDraft | None:
    """The person's own draft in this college, or None (a crafted id finds nothing). It comes
    with its counts as read (`selected_count`, `admin_count`) and with its college, so the page
    that shows it asks for neither again. One query, by hand: every picker request asks it."""
    try:
        draft_id = int(draft_id)
    except (TypeError, ValueError):
        return None
    if not -(2**63) <= draft_id < 2**63:  # a crafted id past bigint finds nothing either
        return None
    rows = fetch(_DRAFT_SQL, [draft_id, owner.pk, organization.pk])
    if not rows:
        return None
    draft = _DRAFT.instance(rows[0], 0)
    draft.selected_count, draft.admin_count = rows[0][len(_DRAFT) :]
    draft.organization = organization
    return draft


def draft_select(draft: ChatDraft, person_id: int, *, selected: bool) -> bool:
    """Tick or untick one row; only people of the college can be ticked."""
    if not selected:
        ChatDraftMember.objects.filter(draft=draft, person_id=person_id).delete()
        return True
    people = _people(
        draft.organization_id, PickerQuery(), None, Sql("c.person_id = %s", (person_id,))
    )
    if not fetch(f"SELECT 1 {people.text}", people.params):
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
    """«Выбрать всех»: everyone the tab and filters match, across pages, in one statement;
    the number matched (those ticked before included)."""
    people = _people(draft.organization_id, query, draft.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_DRAFT_MEMBER} (draft_id, person_id, is_admin)"
            f" SELECT %s, c.person_id, FALSE {people.text}"
            " ON CONFLICT (draft_id, person_id) DO NOTHING",
            (draft.pk, *people.params),
        )
    return count_of(draft.organization, query, draft)


def draft_unselect_all(draft: ChatDraft, query: PickerQuery) -> int:
    """«Снять всех»: untick everyone the tab and filters match; the number unticked."""
    people = _people(draft.organization_id, query, draft.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_DRAFT_MEMBER} WHERE draft_id = %s AND person_id IN"
            f" (SELECT c.person_id {people.text})",
            (draft.pk, *people.params),
        )
        return cursor.rowcount


def draft_members(draft: ChatDraft) -> dict[int, bool]:
    return dict(ChatDraftMember.objects.filter(draft=draft).values_list("person_id", "is_admin"))


def draft_counts(draft: ChatDraft) -> tuple[int, int]:
    """(selected, admins) for the «Выбранные» tab's label."""
    counts = ChatDraftMember.objects.filter(draft=draft).aggregate(
        selected=Count("pk"), admins=Count("pk", filter=Q(is_admin=True))
    )
    return counts["selected"], counts["admins"]

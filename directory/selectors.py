"""Reads of the directory for pages and for the current-organization switch.

Every reader here issues a fixed number of queries, whatever the size of the college:
the desktop is the first page after sign-in, and a region signs in at 8 a.m.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    Count,
    Exists,
    Field,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce
from django.utils import timezone

from directory.models import (
    Group,
    Guardian,
    Lesson,
    Organization,
    Person,
    StaffMember,
    Student,
    Teaching,
)


def organizations_of(person: Person) -> list[Organization]:
    """The organizations where the person holds an active role, in one query."""

    def role(model):
        return Exists(
            model.objects.filter(organization=OuterRef("pk"), person=person, is_active=True)
        )

    return list(
        Organization.objects.filter(role(StaffMember) | role(Student) | role(Guardian)).order_by(
            "short_name", "pk"
        )
    )


@dataclass(frozen=True)
class Roles:
    """What a person is in one organization."""

    staff: StaffMember | None
    student: Student | None
    guardian: Guardian | None

    @property
    def is_admin(self) -> bool:
        return bool(self.staff and self.staff.is_admin)

    @property
    def labels(self) -> list[str]:
        labels = []
        if self.is_admin:
            labels.append("Администратор ОО")
        if self.staff:
            labels.append(self.staff.position or "Сотрудник")
        if self.student:
            labels.append("Обучающийся")
        if self.guardian:
            labels.append("Родитель")
        return labels


NO_ROLES = Roles(None, None, None)


# --- rows read by hand ---------------------------------------------------------------------
# Reads asked on every page (the roles, the new-call mark, the ЭПОС list) cost far more to
# build and compile through the ORM than to run: those are fixed SQL, turned back into models
# here with the ORM's own conversions of each value.


class Columns:
    """A model's columns in a hand-written SELECT under `alias`, and the instance made back
    from them (None where a LEFT JOIN found no row)."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self.pk_at = self.fields.index(model._meta.pk)
        self._conversions: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def instance(self, row, start: int, using: str = DEFAULT_DB_ALIAS) -> Model | None:
        values = row[start : start + len(self.fields)]
        if values[self.pk_at] is None:
            return None
        conversions = self._conversions.get(using)
        if conversions is None:
            conversions = self._conversions[using] = [
                (at, field) for at, field in enumerate(self.fields) if _converters(field, using)[0]
            ]
        if conversions:
            values = list(values)
            for at, field in conversions:
                values[at] = converted(field, values[at], using)
        return self.model.from_db(using, self.names, values)


@functools.cache
def _converters(field: Field, using: str) -> tuple[list, Col]:
    connection = connections[using]
    column = field.get_col(field.model._meta.db_table)
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection), column


def converted(field: Field, value, using: str = DEFAULT_DB_ALIAS):
    """`value` as the ORM gives it for `field` (SQLite keeps booleans as 0/1, datetimes as
    text); PostgreSQL's values mostly pass untouched."""
    converters, column = _converters(field, using)
    for converter in converters:
        value = converter(value, column, connections[using])
    return value


def fetch(sql: str, params, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_STAFF = Columns(StaffMember, "s")
_STUDENT = Columns(Student, "st")
_GROUP = Columns(Group, "g")
_GUARDIAN = Columns(Guardian, "gu")
# Each role is unique per person and college (the models' constraints): every LEFT JOIN finds
# at most one row, so the person's three roles come in the one row of `one`.
_ROLES_SQL = f"""
    SELECT {_STAFF.sql}, {_STUDENT.sql}, {_GROUP.sql}, {_GUARDIAN.sql}
    FROM (SELECT 1) one
    LEFT JOIN {StaffMember._meta.db_table} s
        ON s.person_id = %s AND s.organization_id = %s AND s.is_active
    LEFT JOIN {Student._meta.db_table} st
        ON st.person_id = %s AND st.organization_id = %s AND st.is_active
    LEFT JOIN {Group._meta.db_table} g ON g.id = st.group_id
    LEFT JOIN {Guardian._meta.db_table} gu
        ON gu.person_id = %s AND gu.organization_id = %s AND gu.is_active
"""


def roles_of(person: Person, organization: Organization | None) -> Roles:
    """The person's active roles in the college, the student's group with them: one query."""
    if organization is None:
        return NO_ROLES
    (row,) = fetch(_ROLES_SQL, [person.pk, organization.pk] * 3)
    at = 0
    found = []
    for columns in (_STAFF, _STUDENT, _GROUP, _GUARDIAN):
        found.append(columns.instance(row, at))
        at += len(columns)
    staff, student, group, guardian = found
    if student is not None:
        Student._meta.get_field("group").set_cached_value(student, group)
    return Roles(staff=staff, student=student, guardian=guardian)


def time_zone_of(organization: Organization | None) -> zoneinfo.ZoneInfo:
    """The college's clock; the product's one outside any college."""
    return organization.zone if organization else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def today_in(organization: Organization | None) -> dt.date:
    return timezone.localdate(timezone=time_zone_of(organization))


def _subgroup_of_lesson():
    return Teaching.students.through.objects.filter(teaching_id=OuterRef("teaching_id"))


def attended_by(student: Student) -> Q:
    """A filter of lessons the student attends: their group's whole-group teachings and any
    subgroup teaching that lists them. A teaching with a subgroup applies to nobody else."""
    whole_group = Q(teaching__group_id=student.group_id) & ~Exists(_subgroup_of_lesson())
    listed = Exists(_subgroup_of_lesson().filter(student_id=student.pk))
    return Q(teaching__organization_id=student.organization_id) & (whole_group | listed)


def _lessons():
    return (
        Lesson.objects.active()
        .filter(teaching__is_active=True)
        .annotate(has_subgroup=Exists(_subgroup_of_lesson()))
        .select_related("teaching__group", "teaching__discipline")
        .order_by("date", "start", "end", "pk")
    )


# How far «Ближайшее занятие» looks ahead on a day without lessons: past the holidays of
# New Year is far enough, and the bound keeps the scan of a region's schedule short.
LOOK_AHEAD = dt.timedelta(days=14)


def _next(lessons, after: dt.date) -> Lesson | None:
    return lessons.filter(date__gt=after, date__lte=after + LOOK_AHEAD).first()


def lessons_taught_on(staff: StaffMember, day: dt.date) -> list[Lesson]:
    """The staff member's own lessons of the day («Расписание на сегодня»), in one query."""
    return list(_lessons().filter(date=day, teaching__teachers=staff))


def next_lesson_taught(staff: StaffMember, after: dt.date) -> Lesson | None:
    return _next(_lessons().filter(teaching__teachers=staff), after)


def lessons_attended_on(student: Student, day: dt.date) -> list[Lesson]:
    """The student's lessons of the day with their teachers, in two queries."""
    teachers = Prefetch(
        "teaching__teachers",
        queryset=StaffMember.objects.active()
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "pk"),
    )
    return list(_lessons().filter(attended_by(student), date=day).prefetch_related(teachers))


def next_lesson_attended(student: Student, after: dt.date) -> Lesson | None:
    return _next(_lessons().filter(attended_by(student)), after)


def groups_curated_by(staff: StaffMember) -> list[Group]:
    """The staff member's groups with their number of active students, in one query."""
    return list(
        Group.objects.active()
        .filter(curators=staff)
        .annotate(student_count=Count("students", filter=Q(students__is_active=True)))
        .order_by("course", "name", "pk")
    )


def _curators(lookup: str = "curators") -> Prefetch:
    """Active curators of groups, as `group.active_curators`."""
    return Prefetch(
        lookup,
        queryset=StaffMember.objects.active()
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "pk"),
        to_attr="active_curators",
    )


def children_of(guardian: Guardian) -> list[Student]:
    """The parent's active children with their groups and curators, in two queries."""
    return list(
        guardian.children.active()
        .select_related("person", "group")
        .prefetch_related(_curators("group__curators"))
        .order_by("person__last_name", "person__first_name", "pk")
    )


@dataclass(frozen=True)
class CollegeSummary:
    staff: int
    students: int
    guardians: int
    groups: int
    groups_without_curator: int


def _count(queryset) -> Coalesce:
    counted = queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _groups_without_curator(organization_id):
    has_curator = Exists(
        Group.curators.through.objects.filter(group_id=OuterRef("pk"), staffmember__is_active=True)
    )
    return Group.objects.active().filter(organization_id=organization_id).filter(~has_curator)


def college_summary(organization: Organization) -> CollegeSummary:
    """Counts of the college's active directory for its administrators, in one query."""
    of_college = {"organization": OuterRef("pk"), "is_active": True}
    row = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            staff_count=_count(StaffMember.objects.filter(**of_college)),
            student_count=_count(Student.objects.filter(**of_college)),
            guardian_count=_count(Guardian.objects.filter(**of_college)),
            group_count=_count(Group.objects.filter(**of_college)),
            uncurated_count=_count(_groups_without_curator(OuterRef("pk"))),
        )
        .values("staff_count", "student_count", "guardian_count", "group_count", "uncurated_count")
        .get()
    )
    return CollegeSummary(
        staff=row["staff_count"],
        students=row["student_count"],
        guardians=row["guardian_count"],
        groups=row["group_count"],
        groups_without_curator=row["uncurated_count"],
    )


def groups_without_curator(organization: Organization, *, limit: int) -> list[Group]:
    """Groups left without «Группа»/«Родители» chats (F11), the first `limit` of them."""
    return list(_groups_without_curator(organization.pk).order_by("course", "name", "pk")[:limit])


@dataclass(frozen=True)
class Desktop:
    """What «Рабочий стол» shows; a widget is None when the person's roles do not call for it."""

    today: dt.date
    lessons_taught: list[Lesson] | None = None
    next_lesson_taught: Lesson | None = None
    curated_groups: list[Group] | None = None
    summary: CollegeSummary | None = None
    uncurated_groups: list[Group] | None = None
    student: Student | None = None
    lessons_attended: list[Lesson] | None = None
    next_lesson_attended: Lesson | None = None
    children: list[Student] | None = None
    # F3: «Личные сообщения», the person's chats changed last (epos_chats.models.Chat).
    recent_chats: list | None = None


UNCURATED_GROUPS_SHOWN = 10


def desktop_of(organization: Organization | None, roles: Roles) -> Desktop:
    """The widgets of «Рабочий стол» for each of the person's roles in the organization."""
    today = today_in(organization)
    if organization is None:
        return Desktop(today=today)
    widgets = {}
    if roles.staff:
        widgets["lessons_taught"] = lessons_taught_on(roles.staff, today)
        if not widgets["lessons_taught"]:
            widgets["next_lesson_taught"] = next_lesson_taught(roles.staff, today)
        widgets["curated_groups"] = groups_curated_by(roles.staff)
    if roles.is_admin:
        widgets["summary"] = college_summary(organization)
        widgets["uncurated_groups"] = groups_without_curator(
            organization, limit=UNCURATED_GROUPS_SHOWN
        )
    if roles.student:
        # The group came with the role; its curators cost one query more.
        prefetch_related_objects([roles.student.group], _curators())
        widgets["student"] = roles.student
        widgets["lessons_attended"] = lessons_attended_on(roles.student, today)
        if not widgets["lessons_attended"]:
            widgets["next_lesson_attended"] = next_lesson_attended(roles.student, today)
    if roles.guardian:
        widgets["children"] = children_of(roles.guardian)
    role = roles.staff or roles.student or roles.guardian
    if role:
        # Chats build on the directory, not the other way round: imported where it is used.
        from epos_chats.messaging import epos_open
        from epos_chats.messaging_selectors import conversations_of
        from epos_chats.selectors import RECENT_CHATS_SHOWN, recent_chats

        if epos_open(organization):
            # F30: while the ЭПОС block is on «Чаты», the widget shows its conversations.
            widgets["recent_chats"], _ = conversations_of(
                role.person_id, organization, limit=RECENT_CHATS_SHOWN
            )
        else:
            widgets["recent_chats"] = recent_chats(role.person_id, organization)
    return Desktop(today=today, **widgets)

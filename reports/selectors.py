"""The figures of «Мониторинг» (B3), each from set-based queries.

A college's page counts live, in four queries, however many groups and chats it has: every
count is a subquery or a filtered aggregate, never a loop. The region's page reads the
colleges' stored summaries (`CollegeSummary`, kept by `reports.services`) in one query: the
same figures counted over a whole region take about a second (issue 9).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import OnlineCall
from directory.models import Group, Guardian, Organization, StaffMember, Student, Teaching
from epos_chats.models import Chat, ChatMember
from reports.models import CollegeSummary
from vk_sync.models import RemoteCall, RemoteChat, SyncRun

# The ministry's target for every «linked to VK ID» share (the seed: «100 % педагогических
# работников … используют ИКОП „Сферум“»).
TARGET_PERCENT = 100
WEEKS = 8
# The region's summaries are recounted every REFRESH_EVERY (a Celery beat entry) and after
# each college's nightly jobs; older than STALE_AFTER, the schedule has stopped.
REFRESH_EVERY = dt.timedelta(minutes=10)
STALE_AFTER = 3 * REFRESH_EVERY


# Shapes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """How many of `total` people are linked to VK ID, against the 100 % target."""

    key: str
    label: str
    total: int
    linked: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.linked / self.total, 1) if self.total else None

    @property
    def missing(self) -> int:
        return self.total - self.linked

    @property
    def falls_short(self) -> bool:
        return self.linked < self.total

    @property
    def sort_value(self) -> float:
        """Worst first: an empty share (nobody to link) sorts after every real one."""
        return self.linked / self.total if self.total else 2.0


@dataclass(frozen=True)
class GroupRow:
    group: Group
    students: Share
    parents: Share
    has_curator: bool
    has_group_chat: bool
    has_parents_chat: bool

    @property
    def overall(self) -> Share:
        return Share(
            "overall",
            "Всего",
            self.students.total + self.parents.total,
            self.students.linked + self.parents.linked,
        )

    @property
    def lacks_chats(self) -> bool:
        return not (self.has_group_chat and self.has_parents_chat)


@dataclass(frozen=True)
class SyncState:
    last_status: str | None
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    failed_chats: int
    failed_calls: int

    @property
    def last_status_label(self) -> str:
        if self.last_status is None:
            return "не было"
        return SyncRun.Status(self.last_status).label

    @property
    def falls_short(self) -> bool:
        return bool(
            self.failed_chats
            or self.failed_calls
            or self.last_status in (None, SyncRun.Status.ERRORS, SyncRun.Status.ABANDONED)
        )


@dataclass(frozen=True)
class CollegeFigures:
    """One college's row: the shares, the chats and the messenger, all from one query."""

    organization: Organization
    shares: list[Share]
    groups: int
    groups_without_curator: int
    chats: int
    chats_without_linked_admin: int
    chats_with_call_this_week: int
    sync: SyncState
    # When the figures were counted: None when live, the summary's time when read from one.
    as_of: dt.datetime | None = None

    def share(self, key: str) -> Share:
        return next(s for s in self.shares if s.key == key)

    @property
    def overall(self) -> Share:
        return Share(
            "overall",
            "Всего",
            sum(s.total for s in self.shares),
            sum(s.linked for s in self.shares),
        )

    @property
    def chats_with_call_percent(self) -> float | None:
        if not self.chats:
            return None
        return round(100 * self.chats_with_call_this_week / self.chats, 1)


@dataclass(frozen=True)
class WeekBar:
    start: dt.date
    calls: int


@dataclass(frozen=True)
class CollegeReport:
    figures: CollegeFigures
    groups: list[GroupRow]
    chats_without_linked_admin: list[Chat]
    weeks: list[WeekBar]

    @property
    def organization(self) -> Organization:
        return self.figures.organization

    @property
    def uncurated_groups(self) -> list[GroupRow]:
        return [row for row in self.groups if not row.has_curator or row.lacks_chats]


@dataclass(frozen=True)
class RegionReport:
    colleges: list[CollegeFigures]
    weeks: list[WeekBar]
    shares: list[Share] = field(default_factory=list)
    # The oldest summary's time: every figure of the page is at least this recent.
    as_of: dt.datetime | None = None
    # Colleges with no summary yet (added since the last count): not in `colleges`.
    missing: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class RegionVersion:
    """What the region page's tables are drawn from, in short: equal digests, equal tables."""

    digest: str
    as_of: dt.datetime | None
    missing: bool

    def is_stale(self, now: dt.datetime | None = None) -> bool:
        """Older than the scheduled recount should ever leave them: the schedule is not
        running, and the page says so."""
        if self.as_of is None:
            return False
        return (now or timezone.now()) - self.as_of > STALE_AFTER


# Building blocks ------------------------------------------------------------------------------


def _count(rows: QuerySet, key: str = "organization") -> Coalesce:
    """COUNT of `rows` whose `key` is the outer row, as a correlated subquery."""
    counted = rows.filter(**{key: OuterRef("pk")}).order_by().values(key)
    counted = counted.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _linked(rows: QuerySet) -> QuerySet:
    return rows.filter(person__vk_link__isnull=False)


def _teachers() -> QuerySet:
    """Staff who teach: at least one active group-by-discipline lists them."""
    teaches = Teaching.teachers.through.objects.filter(
        staffmember_id=OuterRef("pk"), teaching__is_active=True
    )
    return StaffMember.objects.active().filter(Exists(teaches))


def _messenger_chats() -> QuerySet:
    """Chats that live in VK Мессенджер: the only ones a VK ID link or a call concerns."""
    return Chat.objects.alive().filter(platform=Chat.Platform.VK)


def _has_linked_admin() -> Exists:
    return Exists(
        ChatMember.objects.filter(
            chat_id=OuterRef("pk"), is_admin=True, person__vk_link__isnull=False
        )
    )


def week_start(now: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Monday 00:00 of the week of `now` on the college's clock."""
    local = timezone.localtime(now, zone)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(0), tzinfo=zone)


def _week_bounds(start: dt.datetime, weeks_back: int) -> tuple[dt.datetime, dt.datetime]:
    # Local dates, then midnight: a DST change inside a week must not shift the boundary.
    zone = start.tzinfo
    first = start.date() - dt.timedelta(weeks=weeks_back)
    return (
        dt.datetime.combine(first, dt.time(0), tzinfo=zone),
        dt.datetime.combine(first + dt.timedelta(weeks=1), dt.time(0), tzinfo=zone),
    )


def _this_week(zones: set[str], now: dt.datetime, prefix: str) -> Q:
    """Calls starting this week, each against its own college's clock."""
    condition = Q(pk__in=[])
    for name in sorted(zones):
        zone = Organization(time_zone=name).zone
        start, end = _week_bounds(week_start(now, zone), 0)
        condition |= Q(
            **{f"{prefix}time_zone": name, "starts_at__gte": start, "starts_at__lt": end}
        )
    return condition


def _chats_with_call_this_week(zones: set[str], now: dt.datetime) -> QuerySet:
    calls = OnlineCall.objects.alive().filter(
        _this_week(zones, now, "chat__organization__"),
        chat_id=OuterRef("pk"),
        published_at__isnull=False,
    )
    return _messenger_chats().filter(Exists(calls))


def _last_run(column: str) -> Subquery:
    runs = SyncRun.objects.filter(organization=OuterRef("pk")).order_by("-started_at", "-pk")
    return Subquery(runs.values(column)[:1])


# Figures ------------------------------------------------------------------------------------

SHARES = (
    ("staff", "Сотрудники"),
    ("teachers", "Преподаватели"),
    ("students", "Обучающиеся"),
    ("parents", "Родители"),
)


def figure_annotations(*, zones: set[str], now: dt.datetime) -> dict:
    """A college's figures as annotations of `Organization`, each a correlated subquery; the
    live page and the stored summaries count with the same expressions."""
    people = {
        "staff": StaffMember.objects.active(),
        "teachers": _teachers(),
        "students": Student.objects.active(),
        "parents": Guardian.objects.active(),
    }
    annotations = {}
    for key, rows in people.items():
        annotations[f"{key}_total"] = _count(rows)
        annotations[f"{key}_linked"] = _count(_linked(rows))
    uncurated = Group.objects.active().exclude(
        Exists(
            Group.curators.through.objects.filter(
                group_id=OuterRef("pk"), staffmember__is_active=True
            )
        )
    )
    chats = _messenger_chats()
    return {
        **annotations,
        "groups_total": _count(Group.objects.active()),
        "groups_uncurated": _count(uncurated),
        "chats_total": _count(chats),
        "chats_unadministered": _count(chats.exclude(_has_linked_admin())),
        "chats_with_call": _count(_chats_with_call_this_week(zones, now)),
        # "" rather than NULL when there was no push: the summary's column is NOT NULL.
        "last_run_status": Coalesce(_last_run("status"), Value("")),
        "last_run_started_at": _last_run("started_at"),
        "last_run_finished_at": _last_run("finished_at"),
        "failed_chats": _count(RemoteChat.objects.exclude(last_error=""), "chat__organization"),
        "failed_calls": _count(
            RemoteCall.objects.exclude(last_error=""), "call__chat__organization"
        ),
    }


def figures_of(organization: Organization, row, *, as_of: dt.datetime | None = None):
    """`CollegeFigures` from anything carrying the annotations' names: an annotated
    organization or a `CollegeSummary`."""
    return CollegeFigures(
        organization=organization,
        shares=[
            Share(key, label, getattr(row, f"{key}_total"), getattr(row, f"{key}_linked"))
            for key, label in SHARES
        ],
        groups=row.groups_total,
        groups_without_curator=row.groups_uncurated,
        chats=row.chats_total,
        chats_without_linked_admin=row.chats_unadministered,
        chats_with_call_this_week=row.chats_with_call,
        sync=SyncState(
            last_status=row.last_run_status or None,
            last_started_at=row.last_run_started_at,
            last_finished_at=row.last_run_finished_at,
            failed_chats=row.failed_chats,
            failed_calls=row.failed_calls,
        ),
        as_of=as_of,
    )


def college_figures(
    organizations: QuerySet, *, zones: set[str], now: dt.datetime | None = None
) -> list[CollegeFigures]:
    """A row of figures for each of `organizations`, counted live in one query."""
    now = now or timezone.now()
    rows = organizations.order_by("short_name", "pk").annotate(
        **figure_annotations(zones=zones, now=now)
    )
    return [figures_of(row, row) for row in rows]


def _groups(organization: Organization) -> QuerySet:
    students = Student.objects.active()
    # A parent of two children in one group counts once for it.
    parents = (
        Guardian.children.through.objects.filter(
            student__group_id=OuterRef("pk"), student__is_active=True, guardian__is_active=True
        )
        .order_by()
        .values("student__group_id")
    )

    def distinct_parents(rows):
        counted = rows.annotate(n=Count("guardian_id", distinct=True)).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    def chat_of(kind):
        return Exists(Chat.objects.alive().filter(group_id=OuterRef("pk"), kind=kind))

    return (
        Group.objects.active()
        .filter(organization=organization)
        .annotate(
            students_total=_count(students, "group"),
            students_linked=_count(_linked(students), "group"),
            parents_total=distinct_parents(parents),
            parents_linked=distinct_parents(
                parents.filter(guardian__person__vk_link__isnull=False)
            ),
            has_curator=Exists(
                Group.curators.through.objects.filter(
                    group_id=OuterRef("pk"), staffmember__is_active=True
                )
            ),
            has_group_chat=chat_of(Chat.Kind.GROUP),
            has_parents_chat=chat_of(Chat.Kind.PARENTS),
        )
        .order_by("course", "name", "pk")
    )


def group_rows(organization: Organization) -> list[GroupRow]:
    """The college's active groups with their shares, curators and chats, in one query,
    worst first."""
    rows = [
        GroupRow(
            group=g,
            students=Share("students", "Обучающиеся", g.students_total, g.students_linked),
            parents=Share("parents", "Родители", g.parents_total, g.parents_linked),
            has_curator=g.has_curator,
            has_group_chat=g.has_group_chat,
            has_parents_chat=g.has_parents_chat,
        )
        for g in _groups(organization)
    ]
    return sort_groups(rows, "overall")


GROUP_SORTS = {
    "overall": lambda row: (row.overall.sort_value, row.group.course, row.group.name),
    "students": lambda row: (row.students.sort_value, row.group.course, row.group.name),
    "parents": lambda row: (row.parents.sort_value, row.group.course, row.group.name),
    "name": lambda row: (row.group.course, row.group.name),
}


def sort_groups(rows: list[GroupRow], key: str) -> list[GroupRow]:
    """Worst share first (or by course and name); an unknown key sorts by the overall share."""
    return sorted(rows, key=GROUP_SORTS.get(key, GROUP_SORTS["overall"]))


def chats_without_linked_admin(organization: Organization) -> list[Chat]:
    """The college's messenger chats no admin of which has a VK ID link: the messenger
    has nobody to run them."""
    return list(
        _messenger_chats()
        .filter(organization=organization)
        .exclude(_has_linked_admin())
        .annotate(member_count=Count("members"))
        .order_by("kind", "title", "pk")
    )


def calls_per_week(
    organizations: QuerySet, *, zone: zoneinfo.ZoneInfo, now: dt.datetime | None = None
) -> list[WeekBar]:
    """Calls published in each of the last eight weeks (this one last), in one query."""
    now = now or timezone.now()
    current = week_start(now, zone)
    bounds = [_week_bounds(current, back) for back in range(WEEKS - 1, -1, -1)]
    counts = (
        OnlineCall.objects.alive()
        .filter(chat__organization__in=organizations)
        .aggregate(
            **{
                f"w{i}": Count("pk", filter=Q(published_at__gte=start, published_at__lt=end))
                for i, (start, end) in enumerate(bounds)
            }
        )
    )
    return [WeekBar(start.date(), counts[f"w{i}"]) for i, (start, _) in enumerate(bounds)]


# Pages ------------------------------------------------------------------------------------------


def college_report(organization: Organization, *, now: dt.datetime | None = None) -> CollegeReport:
    """Everything of a college's «Мониторинг», in four queries."""
    now = now or timezone.now()
    colleges = Organization.objects.filter(pk=organization.pk)
    (figures,) = college_figures(colleges, zones={organization.time_zone}, now=now)
    return CollegeReport(
        figures=figures,
        groups=group_rows(organization),
        chats_without_linked_admin=chats_without_linked_admin(organization),
        weeks=calls_per_week(colleges, zone=organization.zone, now=now),
    )


def region_zone() -> zoneinfo.ZoneInfo:
    """The region's weeks are counted on the product's clock."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def summary_annotations(*, zones: set[str], now: dt.datetime) -> dict:
    """What a `CollegeSummary` stores: the figures and the calls published in each of the
    region's last eight weeks (`week_0` the oldest), as annotations of `Organization`."""
    current = week_start(now, region_zone())
    bounds = [_week_bounds(current, back) for back in range(WEEKS - 1, -1, -1)]
    calls = OnlineCall.objects.alive()
    weeks = {
        f"week_{i}": _count(
            calls.filter(published_at__gte=start, published_at__lt=end), "chat__organization"
        )
        for i, (start, end) in enumerate(bounds)
    }
    return {**figure_annotations(zones=zones, now=now), **weeks}


def summary_weeks_from(now: dt.datetime) -> dt.date:
    """The Monday of `week_0` in a summary counted at `now`."""
    return week_start(now, region_zone()).date() - dt.timedelta(weeks=WEEKS - 1)


def _region_weeks(summaries: list[CollegeSummary]) -> list[WeekBar]:
    """The colleges' weeks added up by date. Summaries counted in different weeks (one college
    recounted after its Monday nightly, the rest still from Sunday) line up by their dates: the
    region's last eight weeks end with the newest week any summary knows."""
    if not summaries:
        return []
    calls: Counter[dt.date] = Counter()
    for summary in summaries:
        for i in range(WEEKS):
            week = summary.weeks_from + dt.timedelta(weeks=i)
            calls[week] += getattr(summary, f"week_{i}")
    newest = max(summary.weeks_from for summary in summaries) + dt.timedelta(weeks=WEEKS - 1)
    starts = [newest - dt.timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]
    return [WeekBar(start, calls[start]) for start in starts]


def region_version() -> RegionVersion:
    """Each college's names and its summary's time, in one light query: a recount of any
    college, a renamed, new or removed one changes the digest."""
    rows = Organization.objects.order_by("pk").values_list(
        "pk", "name", "short_name", "monitoring_summary__computed_at"
    )
    digest = hashlib.blake2b(digest_size=16)
    times, missing = [], False
    for pk, name, short_name, computed_at in rows:
        digest.update(f"{pk}\x1f{name}\x1f{short_name}\x1f".encode())
        if computed_at is None:
            missing = True
        else:
            digest.update(computed_at.isoformat().encode())
            times.append(computed_at)
        digest.update(b"\x1e")
    return RegionVersion(digest.hexdigest(), min(times, default=None), missing)


def region_report() -> RegionReport:
    """Every college's stored figures, worst share first, the region's shares and its weekly
    calls: one query, however many colleges, people and chats the region has."""
    figures, summaries, missing = [], [], []
    for organization in Organization.objects.select_related("monitoring_summary"):
        try:
            summary = organization.monitoring_summary
        except CollegeSummary.DoesNotExist:
            missing.append(organization.pk)
            continue
        summaries.append(summary)
        figures.append(figures_of(organization, summary, as_of=summary.computed_at))
    shares = [
        Share(
            key,
            label,
            sum(c.share(key).total for c in figures),
            sum(c.share(key).linked for c in figures),
        )
        for key, label in SHARES
    ]
    return RegionReport(
        colleges=sort_colleges(figures, "overall"),
        weeks=_region_weeks(summaries),
        shares=shares,
        as_of=min((s.computed_at for s in summaries), default=None),
        missing=missing,
    )


COLLEGE_SORTS = {
    "overall": lambda c: (c.overall.sort_value, c.organization.short_name),
    "staff": lambda c: (c.share("staff").sort_value, c.organization.short_name),
    "teachers": lambda c: (c.share("teachers").sort_value, c.organization.short_name),
    "students": lambda c: (c.share("students").sort_value, c.organization.short_name),
    "parents": lambda c: (c.share("parents").sort_value, c.organization.short_name),
    "name": lambda c: (c.organization.short_name, c.organization.pk),
}


def sort_colleges(rows: list[CollegeFigures], key: str) -> list[CollegeFigures]:
    return sorted(rows, key=COLLEGE_SORTS.get(key, COLLEGE_SORTS["overall"]))

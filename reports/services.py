"""The stored summaries behind the region's «Мониторинг» (issue 9): counted ahead, all
colleges in one statement, so the page reads a row per college.

Who recounts them:
* Celery beat, every `selectors.REFRESH_EVERY` (`reports.tasks.refresh_region_summaries`);
* each college's nightly jobs, for that college (`summarize_college`), so the morning's
  figures show the night's rebuild and push;
* a region administrator's «Обновить» (`refresh_region`), at most once a minute for the whole
  region, one count at a time;
* the region's page itself, for a college that has no summary yet (`summarize_missing`).

A college's own page never reads a summary: it counts live.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Min, QuerySet
from django.utils import timezone

from directory.models import Organization
from reports import selectors
from reports.models import CollegeSummary

# A button that recounts a region costs the database about a second: one count a minute is
# as fresh as anyone can read, whatever the number of administrators and clicks.
REFRESH_MIN_INTERVAL = dt.timedelta(minutes=1)
# pg_advisory_xact_lock key of «one count of the region at a time» ("monitor" in ASCII).
_LOCK_KEY = 0x6D6F6E69746F72

_COUNTED = [
    f.column
    for f in CollegeSummary._meta.concrete_fields
    if f.name not in ("organization", "computed_at", "weeks_from")
]


def summarize_colleges(organizations: QuerySet | None = None) -> int:
    """Recount the summaries of `organizations` (every college by default) as of now: one
    INSERT … SELECT … ON CONFLICT, the figures never leaving the database. A summary counted
    later than this one is kept. Returns the number of colleges written."""
    if organizations is None:
        organizations = Organization.objects.all()
    now = timezone.now()
    zones = set(organizations.order_by().values_list("time_zone", flat=True).distinct())
    figures = (
        organizations.order_by()
        .annotate(summary_of=F("pk"), **selectors.summary_annotations(zones=zones, now=now))
        .values("summary_of", *_COUNTED)
    )
    select_sql, select_params = figures.query.get_compiler(using=figures.db).as_sql()
    q = connection.ops.quote_name
    table = q(CollegeSummary._meta.db_table)
    columns = ["organization_id", "computed_at", "weeks_from", *_COUNTED]
    values = ["f.summary_of", "%s", "%s", *(f"f.{q(c)}" for c in _COUNTED)]
    updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in columns[1:])
    # `WHERE true`: SQLite needs it to tell the upsert's ON from a join's.
    sql = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
        f"SELECT {', '.join(values)} FROM ({select_sql}) f WHERE true "
        f"ON CONFLICT ({q('organization_id')}) DO UPDATE SET {updates} "
        f"WHERE {table}.{q('computed_at')} <= EXCLUDED.{q('computed_at')}"
    )
    params = [
        _db_value("computed_at", now),
        _db_value("weeks_from", selectors.summary_weeks_from(now)),
        *select_params,
    ]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Figures counted from other tables: a commit lost in a server crash is recounted
            # by the next refresh, so it need not wait for the WAL flush — which, once per
            # college in the nightly jobs, was most of a worker's time (bench workers).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, params)
        return cursor.rowcount


def summarize_college(organization: Organization) -> None:
    """One college's summary, after its nightly jobs: a few milliseconds."""
    summarize_colleges(Organization.objects.filter(pk=organization.pk))


class Outcome(enum.Enum):
    REFRESHED = "refreshed"
    FRESH = "fresh"  # recounted less than `fresh_for` ago: nothing to do
    BUSY = "busy"  # another process is counting right now


@dataclass(frozen=True)
class RefreshResult:
    outcome: Outcome
    as_of: dt.datetime | None


def refresh_region(*, fresh_for: dt.timedelta = REFRESH_MIN_INTERVAL) -> RefreshResult:
    """Recount every college, unless another process is counting (its result will do) or
    every summary is younger than `fresh_for`. Readers go on reading the previous summaries
    until this one commits."""
    with transaction.atomic():
        if not _lock(wait=False):
            return RefreshResult(Outcome.BUSY, _oldest())
        # Checked under the lock: a count that has just finished is seen here.
        oldest = _oldest()
        complete = not Organization.objects.filter(monitoring_summary__isnull=True).exists()
        if complete and oldest is not None and timezone.now() - oldest < fresh_for:
            return RefreshResult(Outcome.FRESH, oldest)
        summarize_colleges()
    return RefreshResult(Outcome.REFRESHED, _oldest())


def summarize_missing() -> int:
    """Summaries for the colleges that have none (new ones, or the first visit after the
    upgrade). Concurrent visitors wait for the first one's count rather than repeat it."""
    with transaction.atomic():
        _lock(wait=True)
        missing = Organization.objects.filter(monitoring_summary__isnull=True)
        if not missing.exists():
            return 0
        return summarize_colleges(missing)


def _oldest() -> dt.datetime | None:
    return CollegeSummary.objects.aggregate(oldest=Min("computed_at"))["oldest"]


def _lock(*, wait: bool) -> bool:
    """The region's count lock, held until the transaction ends. SQLite, the embedded
    single-server default, lets one writer in at a time by itself."""
    if connection.vendor != "postgresql":
        return True
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_LOCK_KEY])
        (acquired,) = cursor.fetchone()
    return acquired is not False


def _db_value(field_name: str, value):
    return CollegeSummary._meta.get_field(field_name).get_db_prep_value(value, connection)

"""The 00:00 jobs of one college, in order (F13, F29). Each step is idempotent, so a run
repeated after a crash, or twice at once, ends in the same state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from calls.services import finish_stale_calls
from directory.models import Organization
from epos_chats.models import RebuildRun
from epos_chats.services import rebuild_mandatory_chats


@dataclass
class NightlyReport:
    organization: Organization
    lines: list[str] = field(default_factory=list)
    stopped: bool = False


def describe_rebuild(run: RebuildRun) -> str:
    if run.status == RebuildRun.Status.STOPPED:
        return run.message
    if run.status == RebuildRun.Status.UNCHANGED:
        return "обязательные чаты: без изменений"
    parts = [
        (run.chats_created, "чатов создано"),
        (run.chats_restored, "восстановлено"),
        (run.chats_renamed, "переименовано"),
        (run.chats_deleted, "удалено"),
        (run.members_added, "участников добавлено"),
        (run.members_removed, "убрано"),
        (run.admins_changed, "прав администратора изменено"),
    ]
    return "обязательные чаты: " + ", ".join(f"{label} {n}" for n, label in parts if n)


def describe_finished_calls(finished: int) -> str:
    if not finished:
        return "онлайн-звонки: нечего завершать"
    return f"онлайн-звонки: завершено {finished}"


def run_nightly(organization: Organization, *, now: dt.datetime | None = None) -> NightlyReport:
    now = now or timezone.now()
    report = NightlyReport(organization)
    rebuild = rebuild_mandatory_chats(organization, now=now)
    report.lines.append(describe_rebuild(rebuild))
    report.stopped = rebuild.status == RebuildRun.Status.STOPPED
    # F24: stale calls are finished whatever the rebuild did; a stopped rebuild guards
    # memberships, not calls.
    report.lines.append(describe_finished_calls(finish_stale_calls(organization, now=now)))
    return report


def is_local_midnight_hour(organization: Organization, now: dt.datetime) -> bool:
    """Beat wakes every hour; a college's jobs run in the hour its own clock shows 00."""
    return timezone.localtime(now, organization.zone).hour == 0

"""The 00:00 jobs of one college, in order (F13, F29). Each step is idempotent, so a run
repeated after a crash, or twice at once, ends in the same state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from calls.services import finish_stale_calls
from directory.models import Organization
from epos_chats.models import RebuildRun
from epos_chats.services import rebuild_mandatory_chats
from reports.services import summarize_college


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


def run_nightly(
    organization: Organization, *, now: dt.datetime | None = None, full: bool = False
) -> NightlyReport:
    now = now or timezone.now()
    report = NightlyReport(organization)
    rebuild = rebuild_mandatory_chats(organization, now=now, full=full)
    report.lines.append(describe_rebuild(rebuild))
    report.stopped = rebuild.status == RebuildRun.Status.STOPPED
    # F24: stale calls are finished whatever the rebuild did; a stopped rebuild guards
    # memberships, not calls.
    report.lines.append(describe_finished_calls(finish_stale_calls(organization, now=now)))
    report.lines.append(_push(organization))
    # B3: the region's «Мониторинг» shows this college's night at once (one statement).
    summarize_college(organization)
    return report


def _push(organization: Organization) -> str:
    """F28: last, the differences go to the messenger (a stopped rebuild changed nothing, so
    there is nothing of it to send)."""
    from vk_sync.models import SyncRun
    from vk_sync.reconcile import PushBusy, push_organization

    if not settings.VK_SYNC_ENABLED:
        return "мессенджер: передача отключена (VK_SYNC_ENABLED=false)"
    try:
        run = push_organization(organization, trigger=SyncRun.Trigger.NIGHTLY)
    except PushBusy:
        return "мессенджер: передача уже идёт, эта пропущена"
    return describe_push(run)


def describe_push(run) -> str:
    done = sum(run.operations.values())
    if not done and not run.errors:
        return "мессенджер: без изменений"
    line = f"мессенджер: операций {done}, чатов {run.chats_touched}, звонков {run.calls_touched}"
    if run.errors:
        line += f", ошибок {len(run.errors)} (см. «Передачи в мессенджер» в администрировании)"
    return line


def is_local_midnight_hour(organization: Organization, now: dt.datetime) -> bool:
    """Beat wakes every hour; a college's jobs run in the hour its own clock shows 00."""
    return timezone.localtime(now, organization.zone).hour == 0

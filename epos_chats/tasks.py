"""Celery entry points: thin, taking ids, safe to run twice."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from directory.models import Organization
from epos_chats.nightly import is_local_midnight_hour, run_nightly


@shared_task
def nightly_fanout(now_iso: str | None = None) -> int:
    """One task per college whose clock shows 00 now, so many workers share a region."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    due = [
        org.pk
        for org in Organization.objects.only("pk", "time_zone")
        if is_local_midnight_hour(org, now)
    ]
    for pk in due:
        nightly_for_organization.delay(pk, now.isoformat())
    return len(due)


@shared_task(acks_late=True)
def nightly_for_organization(organization_id: int, now_iso: str | None = None) -> list[str]:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return []
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return run_nightly(organization, now=now).lines

"""Pushes to the messenger as Celery tasks: they take ids, are safe to run twice, and a push
that finds another one running for the college tries again a little later."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from calls.models import OnlineCall
from directory.models import Organization
from vk_sync.models import SyncRun
from vk_sync.reconcile import PushBusy, push_call, push_chats, push_links, push_organization

log = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 30


def _busy(task, exc: PushBusy):
    if task.app.conf.task_always_eager:
        # In process there is no queue to come back through; the next push (at the latest
        # tonight's) finds the difference, since the rows are the truth.
        log.info("%s", exc)
        return None
    raise task.retry(exc=exc, countdown=BUSY_RETRY_SECONDS)


@shared_task(bind=True, max_retries=20, acks_late=True)
def push_links_task(self, person_ids: list[int]) -> None:
    try:
        push_links(person_ids)
    except PushBusy as exc:
        return _busy(self, exc)


@shared_task(bind=True, max_retries=20, acks_late=True)
def push_call_task(self, call_id: int) -> None:
    call = OnlineCall.objects.select_related("chat__organization").filter(pk=call_id).first()
    if call is None:
        return None
    try:
        push_call(call)
    except PushBusy as exc:
        return _busy(self, exc)


@shared_task(bind=True, max_retries=20, acks_late=True)
def push_chats_task(self, organization_id: int, chat_ids: list[int]) -> None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    try:
        push_chats(organization, chat_ids)
    except PushBusy as exc:
        return _busy(self, exc)


@shared_task(bind=True, max_retries=20, acks_late=True)
def push_organization_task(self, organization_id: int, trigger: str = SyncRun.Trigger.MANUAL):
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    try:
        push_organization(organization, trigger=trigger)
    except PushBusy as exc:
        return _busy(self, exc)


def send_push(task, *args) -> None:
    """Queue a push; a broken queue or messenger never breaks the change that asked for it —
    the rows are the truth and the next push finds the difference."""
    if not settings.VK_SYNC_ENABLED:
        return
    try:
        task.delay(*args)
    except Exception:
        log.exception("Передача в мессенджер отложена до следующей: %s%s", task.name, args)


def enqueue_after_commit(task, *args) -> None:
    """`send_push` once the change is committed (never for a change rolled back)."""
    transaction.on_commit(lambda: send_push(task, *args))

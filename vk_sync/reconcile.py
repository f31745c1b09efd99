"""The push (F28): make the messenger hold what the journal says, by difference, not replay.

For every chat whose wanted state (title, linked members and their rights, deleted or not)
may differ from what the messenger is known to hold (`RemoteChat`, `RemoteMember`), send only
the difference; calls likewise (`RemoteCall`). Every acknowledged operation updates those rows
at once, and an «add member» is written down before it is sent, so a crash, a lost reply or an
outage loses nothing: the next push finds exactly the remaining difference.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from calls.models import OnlineCall
from directory.models import Organization, Person
from epos_chats.models import Chat, ChatMember
from vk_sync import gateway as ops
from vk_sync.gateway import MessengerGateway, Op, OpResult
from vk_sync.models import RemoteCall, RemoteChat, RemoteLink, RemoteMember, SyncRun, VkLink

log = logging.getLogger(__name__)

CHATS_PER_ROUND = 50  # rows are updated after each round: a crash loses at most one round
STALE_AFTER = dt.timedelta(minutes=5)  # a «running» push silent this long was killed


class PushBusy(Exception):
    """Another push for the college is running; this one did nothing."""


def chat_external_id(chat_id: int) -> str:
    return f"chat-{chat_id}"


def call_external_id(call_id: int) -> str:
    return f"call-{call_id}"


def person_external_id(person_id: int) -> str:
    """The person as the messenger knows them: an opaque id, never the login (152-ФЗ)."""
    return f"person-{person_id}"


def gateway_for_settings() -> MessengerGateway:
    from vk_sync.adapter import VkMessengerGateway

    return VkMessengerGateway()


# --- the per-college lock ----------------------------------------------------------------


def _claim(organization: Organization, trigger: str, now: dt.datetime) -> SyncRun:
    """Insert this push's «running» row; the partial unique index admits one per college."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return SyncRun.objects.create(
                    organization=organization,
                    trigger=trigger,
                    status=SyncRun.Status.RUNNING,
                    started_at=now,
                    heartbeat_at=now,
                )
        except IntegrityError:
            # A row left by a killed process is taken over; a live one means «busy».
            abandoned = SyncRun.objects.filter(
                organization=organization,
                status=SyncRun.Status.RUNNING,
                heartbeat_at__lt=timezone.now() - STALE_AFTER,
            ).update(status=SyncRun.Status.ABANDONED, finished_at=timezone.now())
            if not abandoned:
                raise PushBusy(f"{organization}: передача уже идёт") from None
    raise PushBusy(f"{organization}: передача уже идёт")


@dataclass
class _Tally:
    operations: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)
    chats: set[int] = field(default_factory=set)
    calls: set[int] = field(default_factory=set)

    def count(self, results: Iterable[OpResult]) -> None:
        for result in results:
            if result.ok:
                self.operations[result.op.method] += 1

    def error(self, kind: str, obj_id: int, title: str, error) -> None:
        if len(self.errors) < 200:
            self.errors.append(
                {"object": kind, "id": obj_id, "title": title[:100], "error": str(error)[:300]}
            )


# --- entry points ---------------------------------------------------------------------------


def push_organization(
    organization: Organization,
    *,
    trigger: str = SyncRun.Trigger.NIGHTLY,
    gateway: MessengerGateway | None = None,
    full: bool = False,
) -> SyncRun:
    """Everything of one college that may differ; with `full`, every chat is compared."""
    chats = Chat.objects.filter(organization=organization, platform=Chat.Platform.VK)
    if not full:
        chats = chats.filter(_maybe_stale())
    calls = OnlineCall.objects.filter(chat__organization=organization).filter(_call_maybe_stale())
    return _push(
        organization,
        trigger=trigger,
        gateway=gateway,
        chat_ids=list(chats.values_list("pk", flat=True)),
        call_ids=list(calls.values_list("pk", flat=True)),
    )


def push_chats(
    organization: Organization,
    chat_ids: Sequence[int],
    *,
    calls_of_chats: bool = True,
    trigger: str = SyncRun.Trigger.IMMEDIATE,
    gateway: MessengerGateway | None = None,
) -> SyncRun:
    """Some chats at once (a new VK ID link, `VK_SYNC_MODE=immediate`), with their calls."""
    call_ids = []
    if calls_of_chats:
        call_ids = list(
            OnlineCall.objects.filter(chat_id__in=chat_ids)
            .filter(_call_maybe_stale())
            .values_list("pk", flat=True)
        )
    return _push(
        organization, trigger=trigger, gateway=gateway, chat_ids=chat_ids, call_ids=call_ids
    )


def push_call(call: OnlineCall, *, gateway: MessengerGateway | None = None) -> SyncRun:
    """F28: a call goes at once; its chat too when the messenger does not have it yet."""
    chat_ids = [] if RemoteChat.objects.filter(chat_id=call.chat_id).exists() else [call.chat_id]
    return _push(
        call.chat.organization,
        trigger=SyncRun.Trigger.IMMEDIATE,
        gateway=gateway,
        chat_ids=chat_ids,
        call_ids=[call.pk],
    )


def push_links(
    person_ids: Sequence[int], *, gateway: MessengerGateway | None = None
) -> list[SyncRun]:
    """F9: a link goes at once, and its person into every messenger chat they belong to."""
    runs = []
    by_org: dict[int, list[int]] = {}
    for chat_id, org_id in (
        Chat.objects.filter(
            platform=Chat.Platform.VK, members__person_id__in=person_ids, remote__isnull=False
        )
        .values_list("pk", "organization_id")
        .distinct()
    ):
        by_org.setdefault(org_id, []).append(chat_id)
    gateway = gateway or gateway_for_settings()
    if not by_org:
        # Not in any messenger chat yet: the link alone goes now, the chats at night.
        _push_links(gateway, Person.objects.filter(pk__in=person_ids), _Tally())
        return runs
    for organization in Organization.objects.filter(pk__in=by_org):
        runs.append(
            _push(
                organization,
                trigger=SyncRun.Trigger.IMMEDIATE,
                gateway=gateway,
                chat_ids=by_org[organization.pk],
                call_ids=[],
                people=person_ids,
            )
        )
    return runs


def _maybe_stale() -> Q:
    """Chats whose messenger state may lag: never pushed, changed since, or failed; and deleted
    chats that still have members there."""
    alive = Q(deleted_at__isnull=True)
    return (alive & Q(remote__isnull=True)) | (
        Q(remote__isnull=False)
        & (
            Q(remote__synced_version__isnull=True)
            | Q(remote__synced_version__lt=F("changed_at"))
            | ~Q(remote__last_error="")
        )
    )


def _call_maybe_stale() -> Q:
    live_call = Q(status__in=["published", "finished"], deleted_at__isnull=True)
    return (live_call & Q(remote__isnull=True) & Q(status="published")) | (
        Q(remote__isnull=False)
        & (
            Q(remote__synced_version__isnull=True)
            | Q(remote__synced_version__lt=F("changed_at"))
            | ~Q(remote__last_error="")
        )
    )


# --- the push -------------------------------------------------------------------------------


def _push(
    organization: Organization,
    *,
    trigger: str,
    gateway: MessengerGateway | None,
    chat_ids: Sequence[int],
    call_ids: Sequence[int],
    people: Sequence[int] | None = None,
) -> SyncRun:
    run = _claim(organization, trigger, timezone.now())
    tally = _Tally()
    gateway = gateway or gateway_for_settings()
    try:
        members_of = Person.objects.filter(chat_memberships__chat_id__in=chat_ids).distinct()
        if people is not None:
            members_of = Person.objects.filter(pk__in=people)
        _push_links(gateway, members_of, tally)
        ids = sorted(chat_ids)
        for start in range(0, len(ids), CHATS_PER_ROUND):
            _push_chat_round(gateway, ids[start : start + CHATS_PER_ROUND], tally)
            SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
        _push_calls(gateway, call_ids, tally)
    finally:
        run.finished_at = timezone.now()
        run.status = SyncRun.Status.ERRORS if tally.errors else SyncRun.Status.OK
        run.chats_touched = len(tally.chats)
        run.calls_touched = len(tally.calls)
        run.operations = dict(tally.operations)
        run.errors = tally.errors
        run.save()
    return run


def _push_links(gateway: MessengerGateway, people, tally: _Tally) -> None:
    """Register the links the messenger lacks (or has wrong) and remove the ones it should
    not have, for these people."""
    people = list(people.values_list("pk", flat=True))
    wanted = dict(
        VkLink.objects.filter(person_id__in=people).values_list("person_id", "vk_user_id")
    )
    known = dict(
        RemoteLink.objects.filter(person_id__in=people).values_list("person_id", "vk_user_id")
    )
    batch: list[Op] = []
    for person_id in people:
        want, have = wanted.get(person_id), known.get(person_id)
        external = person_external_id(person_id)
        if have is not None and have != want:
            batch.append(ops.unregister_link(external_user_id=external, key=("unlink", person_id)))
        if want is not None and have != want:
            batch.append(
                ops.register_link(
                    external_user_id=external, vk_user_id=want, key=("link", person_id)
                )
            )
    results = gateway.run(batch) if batch else []
    tally.count(results)
    unlinked, linked = [], []
    for result in results:
        action, person_id = result.op.key
        if not result.ok:
            tally.error("link", person_id, person_external_id(person_id), result.error)
        elif action == "unlink":
            unlinked.append(person_id)
        else:
            linked.append((person_id, result.op.params["vk_user_id"]))
    now = timezone.now()
    with transaction.atomic():
        RemoteLink.objects.filter(person_id__in=unlinked).delete()
        RemoteLink.objects.filter(person_id__in=[pk for pk, _ in linked]).delete()
        RemoteLink.objects.bulk_create(
            [RemoteLink(person_id=pk, vk_user_id=vk, synced_at=now) for pk, vk in linked]
        )


def _push_chat_round(gateway: MessengerGateway, chat_ids: list[int], tally: _Tally) -> None:
    chats = {
        chat.pk: chat for chat in Chat.objects.filter(pk__in=chat_ids).select_related("remote")
    }
    remote_of = {pk: getattr(chat, "remote", None) for pk, chat in chats.items()}
    failed: dict[int, str] = {}

    # 1. The messenger gets the chats it lacks (idempotent by external id).
    creates = [
        ops.create_chat(external_id=chat_external_id(pk), title=chat.title, key=pk)
        for pk, chat in chats.items()
        if remote_of[pk] is None and chat.deleted_at is None
    ]
    results = gateway.run(creates) if creates else []
    tally.count(results)
    for result in results:
        pk = result.op.key
        value = result.value if isinstance(result.value, dict) else {}
        chat_id = value.get("chat_id")
        if not result.ok or not isinstance(chat_id, int):
            failed[pk] = str(result.error or "ответ без chat_id")
            continue
        # A chat that existed already (a lost reply the first time) may carry another title.
        title = chats[pk].title if value.get("created", True) else ""
        remote_of[pk] = RemoteChat.objects.create(chat_id=pk, remote_chat_id=chat_id, title=title)
        tally.chats.add(pk)

    # 2. Titles, members and rights, by difference.
    live = [pk for pk in chats if remote_of[pk] is not None and pk not in failed]
    wanted: dict[int, dict[int, bool]] = {pk: {} for pk in live}
    for chat_id, vk_user_id, is_admin in ChatMember.objects.filter(
        chat_id__in=[pk for pk in live if chats[pk].deleted_at is None],
        person__vk_link__isnull=False,
    ).values_list("chat_id", "person__vk_link__vk_user_id", "is_admin"):
        wanted[chat_id][vk_user_id] = wanted[chat_id].get(vk_user_id, False) or is_admin
    known: dict[int, dict[int, RemoteMember]] = {pk: {} for pk in live}
    remote_ids = {remote_of[pk].pk: pk for pk in live}
    for member in RemoteMember.objects.filter(remote_chat_id__in=remote_ids):
        known[remote_ids[member.remote_chat_id]][member.vk_user_id] = member

    batch: list[Op] = []
    intents: list[RemoteMember] = []
    for pk in live:
        chat, remote = chats[pk], remote_of[pk]
        remote_id = remote.remote_chat_id
        if chat.deleted_at is None and remote.title != chat.title:
            batch.append(ops.rename_chat(chat_id=remote_id, title=chat.title, key=("title", pk)))
        for vk_user_id, admin in wanted[pk].items():
            member = known[pk].get(vk_user_id)
            if member is None or not member.confirmed:
                if member is None:
                    # Written before it is sent: should the reply never come, the next push
                    # still knows this person may be in the chat.
                    intents.append(
                        RemoteMember(remote_chat=remote, vk_user_id=vk_user_id, confirmed=False)
                    )
                batch.append(
                    ops.add_member(
                        chat_id=remote_id, vk_user_id=vk_user_id, key=("add", pk, vk_user_id)
                    )
                )
                if admin:
                    batch.append(
                        ops.set_role(
                            chat_id=remote_id,
                            vk_user_id=vk_user_id,
                            admin=True,
                            key=("role", pk, vk_user_id),
                        )
                    )
            elif member.is_admin != admin:
                batch.append(
                    ops.set_role(
                        chat_id=remote_id,
                        vk_user_id=vk_user_id,
                        admin=admin,
                        key=("role", pk, vk_user_id),
                    )
                )
        for vk_user_id in known[pk].keys() - wanted[pk].keys():
            batch.append(
                ops.remove_member(
                    chat_id=remote_id, vk_user_id=vk_user_id, key=("remove", pk, vk_user_id)
                )
            )
    RemoteMember.objects.bulk_create(intents, ignore_conflicts=True)

    results = gateway.run(batch) if batch else []
    tally.count(results)
    # Acknowledgements are applied per chat and kind of change, in one transaction: a crash
    # before it commits loses only acks, and every one of those operations is safe to resend.
    titles: dict[int, str] = {}
    confirmed: dict[int, list[int]] = {}
    roles: dict[tuple[int, bool], list[int]] = {}
    gone: dict[int, list[int]] = {}
    for result in results:
        action, pk, *rest = result.op.key
        tally.chats.add(pk)
        if not result.ok:
            failed.setdefault(pk, str(result.error))
            continue
        remote_pk = remote_of[pk].pk
        if action == "title":
            titles[remote_pk] = result.op.params["title"]
        elif action == "add":
            confirmed.setdefault(remote_pk, []).append(rest[0])
        elif action == "role":
            admin = result.op.params["role"] == "admin"
            roles.setdefault((remote_pk, admin), []).append(rest[0])
        elif action == "remove":
            gone.setdefault(remote_pk, []).append(rest[0])
    with transaction.atomic():
        for remote_pk, title in titles.items():
            RemoteChat.objects.filter(pk=remote_pk).update(title=title)
        for remote_pk, users in confirmed.items():
            RemoteMember.objects.filter(remote_chat_id=remote_pk, vk_user_id__in=users).update(
                confirmed=True, is_admin=False
            )
        for (remote_pk, admin), users in roles.items():
            RemoteMember.objects.filter(remote_chat_id=remote_pk, vk_user_id__in=users).update(
                is_admin=admin
            )
        for remote_pk, users in gone.items():
            RemoteMember.objects.filter(remote_chat_id=remote_pk, vk_user_id__in=users).delete()

    # 3. What the messenger now reflects, or why not.
    now = timezone.now()
    with transaction.atomic():
        for pk, chat in chats.items():
            remote = remote_of[pk]
            if pk in failed:
                tally.error("chat", pk, chat.title, failed[pk])
                if remote is not None:
                    RemoteChat.objects.filter(pk=remote.pk).update(
                        last_error=failed[pk][:1000], error_at=now
                    )
            elif remote is not None:
                RemoteChat.objects.filter(pk=remote.pk).update(
                    synced_version=chat.changed_at, last_error="", error_at=None
                )


def _push_calls(gateway: MessengerGateway, call_ids: Sequence[int], tally: _Tally) -> None:
    calls = list(
        OnlineCall.objects.filter(pk__in=call_ids).select_related("chat__remote", "remote")
    )
    batch: list[Op] = []
    for call in calls:
        remote = getattr(call, "remote", None)
        chat_remote = getattr(call.chat, "remote", None)
        starts = int(call.starts_at.timestamp())
        gone = call.deleted_at is not None
        if remote is None:
            if not gone and call.status == OnlineCall.Status.PUBLISHED and chat_remote:
                batch.append(
                    ops.schedule_call(
                        chat_id=chat_remote.remote_chat_id,
                        external_id=call_external_id(call.pk),
                        title=call.title,
                        starts_at=starts,
                        key=("schedule", call.pk),
                    )
                )
            continue
        if remote.status == RemoteCall.Status.DELETED:
            continue
        if gone:
            batch.append(ops.delete_call(call_id=remote.remote_call_id, key=("delete", call.pk)))
        elif (
            call.status == OnlineCall.Status.FINISHED
            and remote.status != RemoteCall.Status.FINISHED
        ):
            batch.append(ops.finish_call(call_id=remote.remote_call_id, key=("finish", call.pk)))
        elif call.status == OnlineCall.Status.PUBLISHED and (
            remote.title != call.title or remote.starts_at != call.starts_at
        ):
            batch.append(
                ops.edit_call(
                    call_id=remote.remote_call_id,
                    title=call.title,
                    starts_at=starts,
                    key=("edit", call.pk),
                )
            )
    results = gateway.run(batch) if batch else []
    tally.count(results)
    by_pk = {call.pk: call for call in calls}
    failed: dict[int, str] = {}
    for result in results:
        action, pk = result.op.key
        call = by_pk[pk]
        tally.calls.add(pk)
        if not result.ok:
            failed[pk] = str(result.error)
            continue
        if action == "schedule":
            value = result.value if isinstance(result.value, dict) else {}
            if not isinstance(value.get("call_id"), int):
                failed[pk] = "ответ без call_id"
                continue
            RemoteCall.objects.create(
                call=call,
                remote_call_id=value["call_id"],
                join_link=str(value.get("join_link") or "")[:500],
                title=call.title,
                starts_at=call.starts_at,
                status=RemoteCall.Status.SCHEDULED,
            )
        elif action == "edit":
            RemoteCall.objects.filter(call=call).update(title=call.title, starts_at=call.starts_at)
        elif action == "finish":
            RemoteCall.objects.filter(call=call).update(status=RemoteCall.Status.FINISHED)
        elif action == "delete":
            RemoteCall.objects.filter(call=call).update(status=RemoteCall.Status.DELETED)
    now = timezone.now()
    for call in calls:
        if call.pk in failed:
            tally.error("call", call.pk, call.title, failed[call.pk])
            RemoteCall.objects.filter(call=call).update(
                last_error=failed[call.pk][:1000], error_at=now
            )
        else:
            RemoteCall.objects.filter(call=call).update(
                synced_version=call.changed_at, last_error="", error_at=None
            )

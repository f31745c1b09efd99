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
import time
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
from vk_sync.gateway import MessengerGateway, Op, OpResult, Pipeline
from vk_sync.models import RemoteCall, RemoteChat, RemoteLink, RemoteMember, SyncRun, VkLink

log = logging.getLogger(__name__)

CHATS_PER_ROUND = 50  # chats are read this many at a time, as the pipeline runs short of work
FEED_BELOW = 500  # operations queued and not sent: below this, the next chats are read
HEARTBEAT_SECONDS = 30
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
        _Stream(gateway, _Tally()).push(
            people=Person.objects.filter(pk__in=person_ids), chat_ids=[], call_ids=[]
        )
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
        _Stream(gateway, tally, run_id=run.pk).push(
            people=members_of, chat_ids=chat_ids, call_ids=call_ids
        )
    finally:
        run.finished_at = timezone.now()
        run.status = SyncRun.Status.ERRORS if tally.errors else SyncRun.Status.OK
        run.chats_touched = len(tally.chats)
        run.calls_touched = len(tally.calls)
        run.operations = dict(tally.operations)
        run.errors = tally.errors
        run.save()
    return run


@dataclass
class _ChatState:
    chat: Chat
    remote: RemoteChat | None
    creating: bool = False  # its createChat is not answered yet
    outstanding: int = 0  # its operations queued or in flight
    # A person's add and role, sent once the messenger acknowledges their link.
    held: dict[int, list[Op]] = field(default_factory=dict)
    placed: set[int] = field(default_factory=set)  # people registered earlier in this lane
    error: str = ""

    @property
    def done(self) -> bool:
        return not self.creating and not self.outstanding


class _Stream:
    """One push as lanes through the gateway's pipeline (a chat, a call, a person's link), each
    in order, many at once. A chat's members go once the messenger has the chat. An add needs
    the person's link in the messenger: someone in one chat is registered in that chat's lane
    ahead of their add; someone in several chats in a lane of their own, sent first, and their
    adds wait for its answer. Every answer's acknowledgements are written as it arrives, in
    one transaction: a crash loses at most those, and every operation is safe to resend."""

    def __init__(self, gateway: MessengerGateway, tally: _Tally, *, run_id: int | None = None):
        self.gateway, self.tally, self.run_id = gateway, tally, run_id
        self.pipeline: Pipeline
        self.rounds: list[list[int]] = []
        self.chats: dict[int, _ChatState] = {}  # loaded and not settled yet
        self.creating = 0
        self.call_ids: list[int] | None = None  # planned once every chat is created
        self.calls: dict[int, OnlineCall] = {}  # calls with an operation on the way
        self.unplaced: dict[int, Op] = {}  # registrations not in any lane yet
        self.linking: set[int] = set()  # people whose registration is not answered yet
        # When links are withdrawn, every registration waits for the withdrawals (a VK
        # account may move to another person), in lanes of its own.
        self.unlinking = 0
        self.registers: list[Op] = []
        self.blocked: dict[int, list[int]] = {}  # person → chats waiting for their link
        self.beat = time.monotonic()

    def push(self, *, people, chat_ids: Sequence[int], call_ids: Sequence[int]) -> None:
        ids = sorted(chat_ids)
        self.rounds = [
            ids[start : start + CHATS_PER_ROUND] for start in range(0, len(ids), CHATS_PER_ROUND)
        ]
        self.call_ids = list(call_ids)
        with self.gateway.pipeline() as pipeline:
            self.pipeline = pipeline
            self._plan_links(people, chat_ids)
            while True:
                fed = self._feed()
                results = pipeline.wait()
                if results:
                    self._apply(results)
                elif not fed:
                    break

    def _feed(self) -> bool:
        """More chats when the pipeline runs short of work; once every chat this push creates
        exists, the calls and the registrations no chat took. True when anything was planned."""
        fed = False
        while self.rounds and self.pipeline.queued < FEED_BELOW:
            self._load(self.rounds.pop(0))
            fed = True
        if not self.rounds and not self.creating and self.call_ids is not None:
            self._send_links(list(self.unplaced.values()))
            self.unplaced = {}
            self._plan_calls(self.call_ids)
            self.call_ids = None
            fed = True
        if self.run_id is not None and time.monotonic() - self.beat > HEARTBEAT_SECONDS:
            SyncRun.objects.filter(pk=self.run_id).update(heartbeat_at=timezone.now())
            self.beat = time.monotonic()
        return fed

    # --- planning --------------------------------------------------------------------------

    def _plan_links(self, people, chat_ids: Sequence[int]) -> None:
        """The links the messenger lacks (or has wrong) and the ones it should not have, for
        these people."""
        people = list(people.values_list("pk", flat=True))
        wanted = dict(
            VkLink.objects.filter(person_id__in=people).values_list("person_id", "vk_user_id")
        )
        known = dict(
            RemoteLink.objects.filter(person_id__in=people).values_list("person_id", "vk_user_id")
        )
        unlinks: list[Op] = []
        registers: list[Op] = []
        for person_id in people:
            want, have = wanted.get(person_id), known.get(person_id)
            external = person_external_id(person_id)
            if have is not None and have != want:
                unlinks.append(
                    ops.unregister_link(external_user_id=external, key=("unlink", person_id))
                )
            if want is not None and have != want:
                registers.append(
                    ops.register_link(
                        external_user_id=external, vk_user_id=want, key=("link", person_id)
                    )
                )
        if unlinks:
            self.unlinking, self.registers = len(unlinks), registers
            self.linking = {op.key[1] for op in registers}
            self._send_links(unlinks)
            return
        # Someone in one chat of this push is registered in that chat's lane; someone in
        # several (a curator, a parent of two) first, in a lane of their own, so that none
        # of their chats waits on another chat's lane.
        chats_of = Counter(
            ChatMember.objects.filter(
                chat_id__in=chat_ids, chat__deleted_at__isnull=True, person__vk_link__isnull=False
            ).values_list("person_id", flat=True)
        )
        self._send_links([op for op in registers if chats_of[op.key[1]] > 1])
        self.unplaced = {op.key[1]: op for op in registers if chats_of[op.key[1]] <= 1}

    def _send_links(self, link_ops: list[Op]) -> None:
        for op in link_ops:
            action, person_id = op.key
            if action == "link":
                self.linking.add(person_id)
            self.pipeline.submit(("person", person_id), [op])

    def _load(self, chat_ids: list[int]) -> None:
        """Read these chats: the messenger gets those it lacks (idempotent by external id),
        the others their difference."""
        known, new, settled = [], [], []
        for chat in Chat.objects.filter(pk__in=chat_ids).select_related("remote"):
            state = self.chats[chat.pk] = _ChatState(chat, getattr(chat, "remote", None))
            if state.remote is not None:
                known.append(chat.pk)
            elif chat.deleted_at is None:
                new.append(chat.pk)
            else:
                settled.append(chat.pk)  # deleted before it ever reached the messenger
        # The registrations of a new chat's people travel with its createChat: they need no
        # chat id, and its adds, coming later in the same lane, find the links in place.
        people: dict[int, list[int]] = {pk: [] for pk in new}
        if self.unplaced and new:
            for chat_id, person_id in ChatMember.objects.filter(
                chat_id__in=new, person__vk_link__isnull=False
            ).values_list("chat_id", "person_id"):
                people[chat_id].append(person_id)
        for pk in new:
            state = self.chats[pk]
            state.creating = True
            self.creating += 1
            lane = [
                ops.create_chat(
                    external_id=chat_external_id(pk), title=state.chat.title, key=("create", pk)
                )
            ]
            for person_id in people[pk]:
                if person_id in self.unplaced:
                    lane.append(self.unplaced.pop(person_id))
                    self.linking.add(person_id)
                    state.placed.add(person_id)
            self.pipeline.submit(("chat", pk), lane)
        self._plan_members(known)
        self._settle(settled)

    def _plan_members(self, chat_ids: list[int]) -> None:
        """Titles, members and rights of chats the messenger has, by difference: sent at once,
        but a person's add and role only once the messenger acknowledges their link."""
        if not chat_ids:
            return
        chats = {pk: self.chats[pk] for pk in chat_ids}
        wanted: dict[int, dict[int, bool]] = {pk: {} for pk in chat_ids}
        person_of: dict[int, int] = {}
        for chat_id, person_id, vk_user_id, is_admin in ChatMember.objects.filter(
            chat_id__in=[pk for pk, state in chats.items() if state.chat.deleted_at is None],
            person__vk_link__isnull=False,
        ).values_list("chat_id", "person_id", "person__vk_link__vk_user_id", "is_admin"):
            wanted[chat_id][vk_user_id] = wanted[chat_id].get(vk_user_id, False) or is_admin
            person_of[vk_user_id] = person_id
        known: dict[int, dict[int, RemoteMember]] = {pk: {} for pk in chat_ids}
        remote_ids = {state.remote.pk: pk for pk, state in chats.items()}
        for member in RemoteMember.objects.filter(remote_chat_id__in=remote_ids):
            known[remote_ids[member.remote_chat_id]][member.vk_user_id] = member

        intents: list[RemoteMember] = []
        ready: list[tuple[int, list[Op]]] = []
        settled: list[int] = []
        for pk, state in chats.items():
            batch = _member_ops(state, wanted[pk], known[pk], intents)
            if not batch:
                settled.append(pk)
                continue
            state.outstanding = len(batch)
            now: list[Op] = []
            for op in batch:
                action, _, *vk_user_id = op.key
                person_id = person_of.get(vk_user_id[0]) if action in ("add", "role") else None
                if person_id in self.unplaced:
                    now.append(self.unplaced.pop(person_id))
                    self.linking.add(person_id)
                    state.placed.add(person_id)
                if person_id in self.linking and person_id not in state.placed:
                    if person_id not in state.held:
                        self.blocked.setdefault(person_id, []).append(pk)
                    state.held.setdefault(person_id, []).append(op)
                else:
                    now.append(op)
            if now:
                ready.append((pk, now))
        # Written before they are sent: should a reply never come, the next push still knows
        # these people may be in the chat.
        RemoteMember.objects.bulk_create(intents, ignore_conflicts=True)
        for pk, batch in ready:
            self.pipeline.submit(("chat", pk), batch)
        self._settle(settled)

    def _plan_calls(self, call_ids: Sequence[int]) -> None:
        calls = OnlineCall.objects.filter(pk__in=call_ids).select_related("chat__remote", "remote")
        idle = []
        for call in calls:
            op = _call_op(call)
            if op is None:
                idle.append(call)
            else:
                self.calls[call.pk] = call
                self.pipeline.submit(("call", call.pk), [op])
        self._settle_calls(idle, {})

    # --- answers ---------------------------------------------------------------------------

    def _apply(self, results: list[OpResult]) -> None:
        """Write what these answers acknowledge, then send what waited for them."""
        self.tally.count(results)
        linked: list[tuple[int, int]] = []
        unlinked: list[int] = []
        released: list[tuple[int, list[Op]]] = []
        created: list[tuple[int, int, str]] = []
        call_results: list[OpResult] = []
        answered: set[int] = set()
        titles: dict[int, str] = {}
        confirmed: dict[int, list[int]] = {}
        roles: dict[tuple[int, bool], list[int]] = {}
        gone: dict[int, list[int]] = {}
        for result in results:
            action, pk, *rest = result.op.key
            if action == "unlink":
                self.unlinking -= 1
                if result.ok:
                    unlinked.append(pk)
                else:
                    self.tally.error("link", pk, person_external_id(pk), result.error)
            elif action == "link":
                self.linking.discard(pk)
                for chat_id in self.blocked.pop(pk, []):
                    released.append((chat_id, self.chats[chat_id].held.pop(pk)))
                if result.ok:
                    linked.append((pk, result.op.params["vk_user_id"]))
                else:
                    self.tally.error("link", pk, person_external_id(pk), result.error)
            elif action == "create":
                state = self.chats[pk]
                state.creating = False
                self.creating -= 1
                answered.add(pk)
                value = result.value if isinstance(result.value, dict) else {}
                chat_id = value.get("chat_id")
                if not result.ok or not isinstance(chat_id, int):
                    state.error = str(result.error or "ответ без chat_id")
                    continue
                # A chat that existed already (a lost reply the first time) may carry
                # another title.
                title = state.chat.title if value.get("created", True) else ""
                created.append((pk, chat_id, title))
                self.tally.chats.add(pk)
            elif action in CALL_ACTIONS:
                call_results.append(result)
            else:
                state = self.chats[pk]
                state.outstanding -= 1
                answered.add(pk)
                self.tally.chats.add(pk)
                if not result.ok:
                    state.error = state.error or str(result.error)
                    continue
                remote_pk = state.remote.pk
                if action == "title":
                    titles[remote_pk] = result.op.params["title"]
                elif action == "add":
                    confirmed.setdefault(remote_pk, []).append(rest[0])
                elif action == "role":
                    admin = result.op.params["role"] == "admin"
                    roles.setdefault((remote_pk, admin), []).append(rest[0])
                elif action == "remove":
                    gone.setdefault(remote_pk, []).append(rest[0])
        now = timezone.now()
        with transaction.atomic():
            if unlinked or linked:
                RemoteLink.objects.filter(person_id__in=unlinked).delete()
                RemoteLink.objects.filter(person_id__in=[pk for pk, _ in linked]).delete()
                RemoteLink.objects.bulk_create(
                    [RemoteLink(person_id=pk, vk_user_id=vk, synced_at=now) for pk, vk in linked]
                )
            for pk, chat_id, title in created:
                self.chats[pk].remote = RemoteChat.objects.create(
                    chat_id=pk, remote_chat_id=chat_id, title=title
                )
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
            self._calls_answered(call_results)
            # A chat just created has its members still to come.
            new = {pk for pk, _, _ in created}
            self._settle(pk for pk in answered if pk not in new and self.chats[pk].done)
        self._plan_members(sorted(new))
        for chat_id, held in released:
            self.pipeline.submit(("chat", chat_id), held)
        if not self.unlinking and self.registers:
            self._send_links(self.registers)
            self.registers = []

    def _calls_answered(self, results: list[OpResult]) -> None:
        failed: dict[int, str] = {}
        answered = []
        for result in results:
            action, pk = result.op.key
            call = self.calls.pop(pk)
            answered.append(call)
            self.tally.calls.add(pk)
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
                RemoteCall.objects.filter(call=call).update(
                    title=call.title, starts_at=call.starts_at
                )
            elif action == "finish":
                RemoteCall.objects.filter(call=call).update(status=RemoteCall.Status.FINISHED)
            elif action == "delete":
                RemoteCall.objects.filter(call=call).update(status=RemoteCall.Status.DELETED)
        self._settle_calls(answered, failed)

    # --- what the messenger now reflects, or why not ----------------------------------------

    def _settle(self, chat_ids: Iterable[int]) -> None:
        now = timezone.now()
        synced, failed = [], []
        for pk in chat_ids:
            state = self.chats.pop(pk)
            remote = state.remote
            if state.error:
                self.tally.error("chat", pk, state.chat.title, state.error)
                if remote is not None:
                    remote.last_error, remote.error_at = state.error[:1000], now
                    failed.append(remote)
            elif remote is not None:
                remote.synced_version = state.chat.changed_at
                remote.last_error, remote.error_at = "", None
                synced.append(remote)
        if synced:
            RemoteChat.objects.bulk_update(synced, ["synced_version", "last_error", "error_at"])
        if failed:
            RemoteChat.objects.bulk_update(failed, ["last_error", "error_at"])

    def _settle_calls(self, calls: Iterable[OnlineCall], failed: dict[int, str]) -> None:
        now = timezone.now()
        for call in calls:
            if call.pk in failed:
                self.tally.error("call", call.pk, call.title, failed[call.pk])
                RemoteCall.objects.filter(call=call).update(
                    last_error=failed[call.pk][:1000], error_at=now
                )
            else:
                RemoteCall.objects.filter(call=call).update(
                    synced_version=call.changed_at, last_error="", error_at=None
                )


CALL_ACTIONS = frozenset({"schedule", "edit", "finish", "delete"})


def _member_ops(
    state: _ChatState,
    wanted: dict[int, bool],
    known: dict[int, RemoteMember],
    intents: list[RemoteMember],
) -> list[Op]:
    """A chat's operations, in the order they must apply: its title, then each person's add
    before their role, then the removals. An add not written down yet joins `intents`."""
    chat, remote = state.chat, state.remote
    pk, remote_id = chat.pk, remote.remote_chat_id
    batch: list[Op] = []
    if chat.deleted_at is None and remote.title != chat.title:
        batch.append(ops.rename_chat(chat_id=remote_id, title=chat.title, key=("title", pk)))
    for vk_user_id, admin in wanted.items():
        member = known.get(vk_user_id)
        if member is None or not member.confirmed:
            if member is None:
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
    for vk_user_id in known.keys() - wanted.keys():
        batch.append(
            ops.remove_member(
                chat_id=remote_id, vk_user_id=vk_user_id, key=("remove", pk, vk_user_id)
            )
        )
    return batch


def _call_op(call: OnlineCall) -> Op | None:
    """The one operation that brings the messenger's copy of the call in step, if any."""
    remote = getattr(call, "remote", None)
    chat_remote = getattr(call.chat, "remote", None)
    starts = int(call.starts_at.timestamp())
    gone = call.deleted_at is not None
    if remote is None:
        if not gone and call.status == OnlineCall.Status.PUBLISHED and chat_remote:
            return ops.schedule_call(
                chat_id=chat_remote.remote_chat_id,
                external_id=call_external_id(call.pk),
                title=call.title,
                starts_at=starts,
                key=("schedule", call.pk),
            )
        return None
    if remote.status == RemoteCall.Status.DELETED:
        return None
    if gone:
        return ops.delete_call(call_id=remote.remote_call_id, key=("delete", call.pk))
    if call.status == OnlineCall.Status.FINISHED and remote.status != RemoteCall.Status.FINISHED:
        return ops.finish_call(call_id=remote.remote_call_id, key=("finish", call.pk))
    if call.status == OnlineCall.Status.PUBLISHED and (
        remote.title != call.title or remote.starts_at != call.starts_at
    ):
        return ops.edit_call(
            call_id=remote.remote_call_id,
            title=call.title,
            starts_at=starts,
            key=("edit", call.pk),
        )
    return None

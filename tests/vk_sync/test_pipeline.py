"""Several requests in flight (issue 9, `push` with faults): against the emulator over real
HTTP, with the wire recorded by httpx's event hooks — what went when, and when its answer came."""

import itertools
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
import pytest

from directory.models import Student
from epos_chats.models import Chat
from tests.vk_sync.test_reconcile import College, assert_in_step
from vk_sync import gateway as ops
from vk_sync.adapter import VkMessengerGateway
from vk_sync.emulator.faults import FaultInjector, FaultSettings
from vk_sync.models import SyncRun, VkLink
from vk_sync.ratelimit import LocalRateLimiter
from vk_sync.reconcile import push_organization

pytestmark = pytest.mark.django_db


@dataclass
class Exchange:
    calls: list[tuple[str, dict]]
    sent: float
    answered: float | None = None


class Wire:
    """Every request the gateway sends: its calls (an `execute` unpacked), when it went and
    when its answer came."""

    def __init__(self):
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()

    def client(self, timeout: float) -> httpx.Client:
        hooks = {"request": [self._sent], "response": [self._answered]}
        return httpx.Client(timeout=timeout, event_hooks=hooks)

    def _sent(self, request: httpx.Request) -> None:
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "execute":
            calls = [(call["method"], call["params"]) for call in json.loads(form["calls"])]
        else:
            calls = [(method, form)]
        exchange = Exchange(calls, time.monotonic())
        request.extensions["exchange"] = exchange
        with self.lock:
            self.exchanges.append(exchange)

    def _answered(self, response: httpx.Response) -> None:
        response.request.extensions["exchange"].answered = time.monotonic()

    def most_at_once(self) -> int:
        return max(
            sum(1 for other in self.exchanges if other.sent <= e.sent < (other.answered or 1e18))
            for e in self.exchanges
        )


def recorded_gateway(emulator, wire: Wire, *, in_flight=4, timeout=2.0, **options):
    return VkMessengerGateway(
        base_url=emulator.url,
        token="test-token",
        limiter=LocalRateLimiter(1000),
        client=wire.client(timeout),
        in_flight=in_flight,
        timeout=timeout,
        backoff=options.pop("backoff", 0.01),
        max_backoff=options.pop("max_backoff", 0.08),
        **options,
    )


def test_a_chats_requests_never_overlap_while_several_requests_are_in_flight(emulator):
    college = College(groups=4, students=6)
    # Answers slow enough that requests overlap however busy the machine is.
    emulator.faults(latency_ms=150)
    wire = Wire()
    with recorded_gateway(emulator, wire) as gw:
        run = push_organization(college.org, gateway=gw)
    assert run.status == SyncRun.Status.OK, run.errors
    assert_in_step(college.org, emulator)
    # Requests did overlap (how many at once depends on how the lanes fill on a busy machine),
    # so the check below means something.
    assert wire.most_at_once() >= 2

    chat_of = {chat["external_id"]: chat["chat_id"] for chat in emulator.state()["chats"]}
    requests_of: dict[int, list[Exchange]] = {}
    for exchange in wire.exchanges:
        chats = {
            chat_of[params["external_id"]] if method == "messages.createChat" else params["chat_id"]
            for method, params in exchange.calls
            if method.startswith("messages.")
        }
        for chat_id in chats:
            requests_of.setdefault(int(chat_id), []).append(exchange)
    assert len(requests_of) == Chat.objects.filter(organization=college.org).count()
    for chat_id, exchanges in requests_of.items():
        exchanges.sort(key=lambda e: e.sent)
        for earlier, later in itertools.pairwise(exchanges):
            assert later.sent >= earlier.answered, f"chat {chat_id}: two requests at once"


def test_an_add_goes_only_after_the_persons_link_is_acknowledged(emulator):
    college = College(groups=4, students=6)
    # Linked after the chats reached the messenger: the students (each in one chat, so
    # registered in its lane) and the curator (in the teachers' chat and every group chat,
    # so registered in a lane of their own, which all those adds must wait for).
    newcomers = [
        college.curator.person_id,
        *Student.objects.filter(organization=college.org).values_list("person_id", flat=True),
    ]
    links = dict(
        VkLink.objects.filter(person_id__in=newcomers).values_list("person_id", "vk_user_id")
    )
    VkLink.objects.filter(person_id__in=newcomers).delete()
    with recorded_gateway(emulator, Wire()) as gw:
        push_organization(college.org, gateway=gw)
    VkLink.objects.bulk_create(VkLink(person_id=pk, vk_user_id=vk) for pk, vk in links.items())

    emulator.faults(latency_ms=30)
    wire = Wire()
    with recorded_gateway(emulator, wire) as gw:
        run = push_organization(college.org, gateway=gw, full=True)
    assert run.status == SyncRun.Status.OK, run.errors
    assert_in_step(college.org, emulator)

    registered: dict[int, tuple[Exchange, int]] = {}
    for exchange in wire.exchanges:
        for position, (method, params) in enumerate(exchange.calls):
            if method == "account.registerLink":
                registered[int(params["vk_user_id"])] = (exchange, position)
    curator = links[college.curator.person_id]
    curator_requests = set()
    for exchange in wire.exchanges:
        for position, (method, params) in enumerate(exchange.calls):
            if method != "messages.addChatUser":
                continue
            link, at = registered[int(params["user_id"])]
            earlier_in_the_same_request = link is exchange and at < position
            assert earlier_in_the_same_request or link.answered <= exchange.sent, params
            if int(params["user_id"]) == curator:
                curator_requests.add(id(exchange))
    # The curator's adds waited for the answer, in requests after their registration's.
    assert curator_requests and id(registered[curator][0]) not in curator_requests
    assert wire.most_at_once() >= 2


@pytest.mark.parametrize("kind", ["timeout", "lost_reply"])
def test_a_request_of_unknown_outcome_is_retried_and_the_messenger_ends_the_same(emulator, kind):
    college = College(groups=3, students=5)
    # The messenger stays silent for 30 s on a «timeout»; the client gives up after 0.3 s.
    emulator.faults(fail_rate=0.25, kinds=[kind], timeout_s=30, seed=3)
    started = time.monotonic()
    with VkMessengerGateway(
        base_url=emulator.url,
        token="test-token",
        limiter=LocalRateLimiter(1000),
        timeout=0.3,
        max_attempts=8,
        backoff=0.01,
        max_backoff=0.05,
    ) as gw:
        run = push_organization(college.org, gateway=gw)
    elapsed = time.monotonic() - started
    assert emulator.stats()["faults"].get(kind, 0) >= 1
    assert run.status == SyncRun.Status.OK, run.errors
    assert_in_step(college.org, emulator)
    assert elapsed < 15, "a timed-out request waited for the messenger's silence"


def first_request_times_out(requests: int) -> int:
    """A seed under which, at fail_rate 0.5, the first of `requests` API requests meets the
    «timeout» fault and the others none (the emulator's own injector tells)."""
    for seed in range(10_000):
        injector = FaultInjector(FaultSettings(fail_rate=0.5, kinds=["timeout"], seed=seed))
        if [injector.draw() for _ in range(requests)] == ["timeout"] + [None] * (requests - 1):
            return seed
    raise AssertionError("no such seed")


def test_a_lane_backing_off_does_not_stall_the_other_lanes(emulator):
    lanes = 4
    # Four requests at once, then the retry of the one that timed out: five draws.
    emulator.faults(
        fail_rate=0.5, kinds=["timeout"], timeout_s=10, seed=first_request_times_out(lanes + 1)
    )
    timeout, backoff = 0.6, 0.4
    answered_at: dict[str, float] = {}
    results = []
    with recorded_gateway(
        emulator, Wire(), in_flight=lanes, timeout=timeout, backoff=backoff, max_backoff=backoff
    ) as gw:
        started = time.monotonic()
        with gw.pipeline() as pipeline:
            for lane in "ABCD":
                pipeline.submit(
                    lane,
                    [
                        ops.create_chat(external_id=f"chat-{lane}{n}", title=f"{lane}{n}", key=lane)
                        for n in range(25)
                    ],
                )
            while answered := pipeline.wait():
                results.extend(answered)
                for result in answered:
                    answered_at.setdefault(result.op.key, time.monotonic() - started)
    assert emulator.stats()["faults"] == {"timeout": 1}
    assert len(results) == 100 and all(result.ok for result in results)
    late = [lane for lane, at in answered_at.items() if at >= timeout]
    assert len(late) == 1, answered_at
    assert all(at < timeout for lane, at in answered_at.items() if lane not in late)
    # The late lane waited for its own timeout and backoff (at least half of it, jittered).
    assert answered_at[late[0]] >= timeout + backoff / 2
    chats = emulator.state()["chats"]
    assert sorted(chat["external_id"] for chat in chats) == sorted(
        f"chat-{lane}{n}" for lane in "ABCD" for n in range(25)
    )

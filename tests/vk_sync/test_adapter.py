"""The VK Messenger adapter on its own: the wire, batching, retries, malformed replies.

The only tests that replace HTTP (httpx.MockTransport): everything above the adapter talks to
the emulator over real HTTP.
"""

import json
import os
import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest

from vk_sync import gateway as ops
from vk_sync.adapter import VkMessengerGateway
from vk_sync.ratelimit import LocalRateLimiter, RedisRateLimiter


class NoLimit:
    def acquire(self):
        pass


def make(handler, **kwargs):
    sleeps = []
    gw = VkMessengerGateway(
        base_url="http://vk.test",
        token="secret",
        limiter=NoLimit(),
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleeps.append,
        max_attempts=kwargs.pop("max_attempts", 4),
        **kwargs,
    )
    return gw, sleeps


def form(request):
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def ok(value):
    return httpx.Response(200, json={"response": value})


def test_a_call_is_a_form_post_with_version_and_bearer_token():
    seen = []

    def handler(request):
        seen.append(request)
        return ok({"chat_id": 7, "created": True})

    gw, _ = make(handler)
    [result] = gw.run([ops.create_chat(external_id="chat-1", title="Группа ИС-21")])
    request = seen[0]
    assert result.ok and result.value == {"chat_id": 7, "created": True}
    assert request.url == "http://vk.test/method/messages.createChat"
    assert request.headers["Authorization"] == "Bearer secret"
    assert form(request) == {"external_id": "chat-1", "title": "Группа ИС-21", "v": "5.199"}


def test_many_operations_travel_in_executes_of_at_most_25():
    sizes = []

    def handler(request):
        calls = json.loads(form(request)["calls"])
        sizes.append(len(calls))
        return ok([1] * len(calls))

    gw, _ = make(handler)
    results = gw.run([ops.add_member(chat_id=1, vk_user_id=n) for n in range(1, 31)])
    assert sizes == [25, 5]
    assert all(r.ok for r in results)


def test_false_items_of_an_execute_get_the_errors_in_order():
    def handler(request):
        return httpx.Response(
            200,
            json={
                "response": [1, False, 1, False],
                "execute_errors": [
                    {
                        "method": "messages.addChatUser",
                        "error_code": 15,
                        "error_msg": "Access denied",
                    },
                    {
                        "method": "messages.addChatUser",
                        "error_code": 927,
                        "error_msg": "Chat does not exist",
                    },
                ],
            },
        )

    gw, _ = make(handler, max_attempts=1)
    results = gw.run([ops.add_member(chat_id=1, vk_user_id=n) for n in (1, 2, 3, 4)])
    assert [r.ok for r in results] == [True, False, True, False]
    assert [r.error.code for r in results if not r.ok] == [15, 927]


def test_a_removal_of_someone_already_gone_counts_as_done():
    def handler(request):
        return httpx.Response(
            200, json={"error": {"error_code": 935, "error_msg": "User not in chat"}}
        )

    gw, _ = make(handler)
    [result] = gw.run([ops.remove_member(chat_id=1, vk_user_id=5)])
    assert result.ok


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(
            200, json={"error": {"error_code": 6, "error_msg": "Too many requests per second"}}
        ),
        httpx.Response(200, json={"error": {"error_code": 9, "error_msg": "Flood control"}}),
        httpx.Response(
            200, json={"error": {"error_code": 10, "error_msg": "Internal server error"}}
        ),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, text='{"response": [1, '),
        httpx.Response(200, json={"result": 1}),
        httpx.Response(200, json=[1, 2]),
    ],
)
def test_transient_failures_and_malformed_replies_are_retried_with_backoff(failure):
    answers = [failure, ok(1)]

    def handler(request):
        return answers.pop(0)

    gw, sleeps = make(handler)
    [result] = gw.run([ops.rename_chat(chat_id=1, title="x")])
    assert result.ok and len(sleeps) == 1 and sleeps[0] > 0


def test_timeouts_and_connection_errors_are_retried_then_reported_not_raised():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    gw, sleeps = make(handler, max_attempts=3)
    [result] = gw.run([ops.rename_chat(chat_id=1, title="x")])
    assert not result.ok and result.error.transient
    assert gw.requests == 3 and len(sleeps) == 2


@pytest.mark.parametrize("code", [5, 7, 15, 100, 917, 925, 927, 935])
def test_permanent_errors_are_not_retried(code):
    def handler(request):
        return httpx.Response(200, json={"error": {"error_code": code, "error_msg": "no"}})

    gw, sleeps = make(handler)
    [result] = gw.run([ops.set_role(chat_id=1, vk_user_id=2, admin=True)])
    assert result.error.code == code and not result.error.transient
    assert gw.requests == 1 and sleeps == []


def test_a_client_error_status_is_permanent():
    gw, _ = make(lambda request: httpx.Response(403, text="Forbidden"))
    [result] = gw.run([ops.finish_call(call_id=1)])
    assert not result.error.transient and gw.requests == 1


def test_transient_items_inside_an_execute_are_tried_again_alone():
    rounds = []

    def handler(request):
        data = form(request)
        if "calls" in data:
            rounds.append(len(json.loads(data["calls"])))
            return httpx.Response(
                200,
                json={
                    "response": [1, False],
                    "execute_errors": [{"method": "x", "error_code": 6, "error_msg": "Too many"}],
                },
            )
        rounds.append(1)
        return ok(1)

    gw, _ = make(handler)
    results = gw.run(
        [ops.add_member(chat_id=1, vk_user_id=1), ops.add_member(chat_id=1, vk_user_id=2)]
    )
    assert all(r.ok for r in results) and rounds == [2, 1]


def test_an_execute_reply_of_the_wrong_length_is_an_error_for_each_item():
    gw, _ = make(lambda request: ok([1]), max_attempts=1)
    results = gw.run([ops.add_member(chat_id=1, vk_user_id=n) for n in (1, 2)])
    assert all(not r.ok for r in results)


def test_backoff_grows_and_is_capped():
    gw, sleeps = make(
        lambda request: httpx.Response(500), max_attempts=6, backoff=1.0, max_backoff=4.0
    )
    gw.run([ops.finish_call(call_id=1)])
    assert len(sleeps) == 5
    assert all(0.5 * cap <= s <= cap for s, cap in zip(sleeps, [1, 2, 4, 4, 4], strict=True))


# --- the rate limit ------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_local_limiter_never_lets_more_than_the_rate_through_in_a_second():
    clock = Clock()
    limiter = LocalRateLimiter(5, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(12):
        limiter.acquire()
        stamps.append(clock.now)
    for stamp in stamps:
        assert sum(1 for s in stamps if stamp <= s < stamp + 1.0) <= 5
    assert stamps[-1] - stamps[0] >= 2.0


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL не задан: общий лимит через Redis не проверить",
)
def test_the_redis_limiter_shares_one_budget_between_workers():
    import uuid

    clock = Clock()
    key = f"test-rate-{uuid.uuid4()}"
    first = RedisRateLimiter(3, os.environ["REDIS_URL"], key=key, clock=clock, sleep=clock.sleep)
    second = RedisRateLimiter(3, os.environ["REDIS_URL"], key=key, clock=clock, sleep=clock.sleep)
    start = clock.now
    for limiter in (first, second, first, second):
        limiter.acquire()
    assert clock.now >= int(start) + 1  # the fourth request waited for the next second


# --- several requests in flight ------------------------------------------------------------


def test_ops_of_many_lanes_travel_together_25_to_a_request():
    sizes = []

    def handler(request):
        calls = json.loads(form(request)["calls"])
        sizes.append(len(calls))
        return ok([1] * len(calls))

    gw, _ = make(handler)
    with gw.pipeline() as pipeline:
        for lane in range(10):
            pipeline.submit(lane, [ops.add_member(chat_id=lane, vk_user_id=n) for n in range(5)])
        results = []
        while answered := pipeline.wait():
            results.extend(answered)
    assert sorted(sizes) == [25, 25]
    assert len(results) == 50 and all(r.ok for r in results)


def test_a_lane_never_has_two_requests_in_flight_and_keeps_its_order():
    lock = threading.Lock()
    flying: set[int] = set()
    overlaps, most, sent = [], [0], {}

    def handler(request):
        calls = json.loads(form(request)["calls"])
        chats = {call["params"]["chat_id"] for call in calls}
        with lock:
            overlaps.extend(chats & flying)
            flying.update(chats)
            most[0] = max(most[0], len(flying))
            for call in calls:
                sent.setdefault(call["params"]["chat_id"], []).append(call["params"]["user_id"])
        time.sleep(0.01)
        with lock:
            flying.difference_update(chats)
        return ok([1] * len(calls))

    gw, _ = make(handler, in_flight=4)
    with gw.pipeline() as pipeline:
        for chat in range(1, 7):
            pipeline.submit(chat, [ops.add_member(chat_id=chat, vk_user_id=n) for n in range(60)])
        while pipeline.wait():
            pass
    assert overlaps == [] and most[0] > 1
    assert sent == {chat: list(range(60)) for chat in range(1, 7)}


def test_an_item_that_failed_transiently_goes_again_with_the_later_items_of_its_lane():
    rounds = []

    def handler(request):
        calls = json.loads(form(request)["calls"])
        rounds.append([(c["method"].split(".")[1], c["params"]["chat_id"]) for c in calls])
        if len(rounds) == 1:
            return httpx.Response(
                200,
                json={
                    "response": [False, 1, 1],
                    "execute_errors": [{"method": "x", "error_code": 9, "error_msg": "Flood"}],
                },
            )
        return ok([1] * len(calls))

    gw, sleeps = make(handler)
    with gw.pipeline() as pipeline:
        pipeline.submit(
            "a",
            [
                ops.add_member(chat_id=1, vk_user_id=1),
                ops.set_role(chat_id=1, vk_user_id=1, admin=True),
            ],
        )
        pipeline.submit("b", [ops.add_member(chat_id=2, vk_user_id=2)])
        results = pipeline.wait()
    # The role of chat 1 went after a failed add: it goes again, after the add; chat 2 is done.
    assert rounds == [
        [("addChatUser", 1), ("setMemberRole", 1), ("addChatUser", 2)],
        [("addChatUser", 1), ("setMemberRole", 1)],
    ]
    assert [r.ok for r in results] == [True, True, True] and len(sleeps) == 1


def test_a_request_that_times_out_is_retried_with_the_same_operations():
    bodies = []

    def handler(request):
        bodies.append(form(request)["calls"])
        if len(bodies) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return ok([1, 1])

    gw, _ = make(handler)
    results = gw.run([ops.add_member(chat_id=1, vk_user_id=n) for n in (1, 2)])
    assert all(r.ok for r in results) and bodies[0] == bodies[1]


def test_the_timeout_comes_from_vk_api_timeout(settings):
    settings.VK_API_TIMEOUT = 4
    gw = VkMessengerGateway(base_url="http://vk.test", token="x", limiter=NoLimit())
    with gw:
        assert gw.client.timeout.read == 4


class StampClock:
    """A real clock that remembers, per thread, the instant it last told: the stamp a limiter
    wrote down for the slot it just handed out."""

    def __init__(self, base):
        self.base = base
        self.local = threading.local()

    def __call__(self):
        self.local.last = self.base()
        return self.local.last


def hammer(limiter, clock, *, threads=8, each=6) -> list[float]:
    stamps, lock = [], threading.Lock()
    start = threading.Barrier(threads)

    def work():
        start.wait()
        for _ in range(each):
            limiter.acquire()
            with lock:
                stamps.append(clock.local.last)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(stamps)


def most_in_one_second(stamps: list[float]) -> int:
    return max(sum(1 for s in stamps if first <= s < first + 1.0) for first in stamps)


def test_the_local_limiter_never_exceeds_the_rate_with_threads():
    clock = StampClock(time.monotonic)
    stamps = hammer(LocalRateLimiter(20, clock=clock), clock)
    assert len(stamps) == 48 and most_in_one_second(stamps) == 20
    assert stamps[-1] - stamps[0] >= 2.0


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL не задан: общий лимит через Redis не проверить",
)
def test_the_redis_limiter_never_exceeds_the_rate_with_threads():
    import uuid

    clock = StampClock(time.time)
    key = f"test-rate-{uuid.uuid4()}"
    stamps = hammer(RedisRateLimiter(20, os.environ["REDIS_URL"], key=key, clock=clock), clock)
    assert len(stamps) == 48 and most_in_one_second(stamps) == 20
    assert stamps[-1] - stamps[0] >= 2.0

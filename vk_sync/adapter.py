"""VK Messenger over HTTP with the VK API's conventions (docs/messenger-protocol.md).

The one place that knows the wire: requests, `execute` batching, several requests in flight,
which failures are worth a retry, the shared rate limit. When the real Sferum partner API is
known, this module changes and nothing else does.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx
from django.conf import settings

from vk_sync.gateway import TRANSIENT_CODES, MessengerError, Op, OpResult
from vk_sync.ratelimit import RateLimiter, shared_rate_limiter

log = logging.getLogger(__name__)

API_VERSION = "5.199"
EXECUTE_LIMIT = 25  # VK's limit of API calls inside one `execute`
HOLD_SECONDS = 0.02  # how often a held-back partial batch looks again whether it may go


class VkMessengerGateway:
    """`MessengerGateway` over HTTP. Transient failures are retried with exponential backoff
    and jitter within `max_attempts`; permanent ones come back as the operation's error.
    A request gives up waiting after `timeout` seconds (VK_API_TIMEOUT): its outcome is then
    unknown, and the retry is safe because every operation the journal sends is idempotent."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        limiter: RateLimiter | None = None,
        timeout: float | None = None,
        in_flight: int | None = None,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        client: httpx.Client | None = None,
        rng: random.Random | None = None,
    ):
        self.base_url = (base_url or settings.VK_API_BASE_URL).rstrip("/")
        self.token = token if token is not None else settings.VK_API_TOKEN
        self.limiter = limiter or shared_rate_limiter()
        self.timeout = settings.VK_API_TIMEOUT if timeout is None else timeout
        self.in_flight = in_flight or settings.VK_API_IN_FLIGHT
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        # httpx.Client is safe to share between threads (one connection pool).
        self.client = client or httpx.Client(timeout=self.timeout)
        self.requests = 0
        self.waiting_for_limit = 0  # worker threads blocked in the rate limiter now
        self._counters = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the interface -------------------------------------------------------------------

    def run(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run `ops` in order (one lane), 25 to an `execute`."""
        results: list[OpResult] = []
        with self.pipeline() as pipeline:
            pipeline.submit(None, ops)
            while answered := pipeline.wait():
                results.extend(answered)
        return results

    def pipeline(self) -> VkPipeline:
        return VkPipeline(self)

    # --- one batch, in a worker thread ---------------------------------------------------

    def send_batch(self, ops: Sequence[Op], lanes: Sequence[Hashable]) -> list[OpResult]:
        """At most 25 ops in one request, with its retries. Items that failed transiently
        inside a successful `execute` go again in another round, and so do the later items
        of their lanes, so that a lane's operations still apply in order."""
        results: list[OpResult | None] = [None] * len(ops)
        pending = list(range(len(ops)))
        for attempt in range(1, self.max_attempts + 1):
            chunk_results, item_level = self._run_chunk([ops[i] for i in pending])
            retry: list[int] = []
            again: set[Hashable] = set()
            last = attempt == self.max_attempts
            for index, result in zip(pending, chunk_results, strict=True):
                # A request's own retries are spent inside `call`; only an item that
                # failed transiently inside a successful `execute` gets another round.
                failed = item_level and result.error is not None and result.error.transient
                if not last and (failed or lanes[index] in again):
                    retry.append(index)
                    again.add(lanes[index])
                else:
                    results[index] = result
            if not retry:
                break
            pending = retry
            self._pause(attempt)
        return results  # type: ignore[return-value]

    def _run_chunk(self, ops: list[Op]) -> tuple[list[OpResult], bool]:
        """The results, and whether they are per item (from a successful `execute`)."""
        if len(ops) == 1:
            op = ops[0]
            try:
                return [_done(op, self.call(op.method, op.params))], False
            except MessengerError as error:
                return [_failed(op, error)], False
        calls = [{"method": op.method, "params": op.params} for op in ops]
        try:
            reply = self.call("execute", {"calls": json.dumps(calls, ensure_ascii=False)}, raw=True)
        except MessengerError as error:
            return [_failed(op, error) for op in ops], False
        return _split_execute(ops, reply), True

    # --- one request ---------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], *, raw: bool = False) -> Any:
        """One API method with retries of transient failures; returns `response` (or, with
        `raw`, the whole reply object), raises MessengerError."""
        last: MessengerError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                reply = self._post(method, params)
            except MessengerError as error:
                last = error
            else:
                if "error" in reply:
                    last = _api_error(reply["error"])
                elif "response" not in reply:
                    last = MessengerError("ответ без поля response", transient=True)
                else:
                    return reply if raw else reply["response"]
            if not last.transient:
                raise last
            if attempt < self.max_attempts:
                log.info("%s: %s, попытка %s из %s", method, last, attempt, self.max_attempts)
                self._pause(attempt)
        raise last

    def _post(self, method: str, params: dict[str, Any]) -> dict:
        with self._counters:
            self.waiting_for_limit += 1
        try:
            self.limiter.acquire()
        finally:
            with self._counters:
                self.waiting_for_limit -= 1
        with self._counters:
            self.requests += 1
        data = {key: _wire(value) for key, value in params.items()} | {"v": API_VERSION}
        try:
            response = self.client.post(
                f"{self.base_url}/method/{method}",
                data=data,
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.TimeoutException:
            raise MessengerError("мессенджер не ответил вовремя", transient=True) from None
        except httpx.TransportError as exc:
            raise MessengerError(f"нет связи с мессенджером: {exc}", transient=True) from None
        if response.status_code >= 500:
            raise MessengerError(f"HTTP {response.status_code}", transient=True)
        if response.status_code != 200:
            raise MessengerError(f"HTTP {response.status_code}")
        try:
            reply = response.json()
        except ValueError:
            # An HTML error page from a proxy, or a reply cut short: worth another try.
            raise MessengerError("ответ мессенджера — не JSON", transient=True) from None
        if not isinstance(reply, dict):
            raise MessengerError("ответ мессенджера — не объект JSON", transient=True)
        return reply

    def _pause(self, attempt: int) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        self.sleep(delay / 2 + self.rng.uniform(0, delay / 2))


class VkPipeline:
    """Operations queued per lane (a chat, a person, a call) go out 25 to an `execute`, up to
    `in_flight` requests at once, each in a worker thread that does only HTTP. A lane has at
    most one request in flight, so its operations reach the messenger in order; a request
    that fails transiently backs off in its own thread while the other lanes go on. Results
    come back to the calling thread through `wait`, which is where the database is written."""

    def __init__(self, gateway: VkMessengerGateway):
        self.gateway = gateway
        self.width = max(1, gateway.in_flight)
        self.queues: dict[Hashable, deque[Op]] = {}
        self.ready: deque[Hashable] = deque()  # lanes with queued ops and nothing in flight
        self.busy: set[Hashable] = set()
        self.flying: dict[Future, list[Hashable]] = {}
        self.queued = 0  # ops not sent yet
        self.executor = ThreadPoolExecutor(max_workers=self.width, thread_name_prefix="vk-api")

    def __enter__(self) -> VkPipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Drop what is not sent; wait for the requests in flight (their own timeouts end them)."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, lane: Hashable, ops: Sequence[Op]) -> None:
        """Queue `ops` after the lane's earlier ones."""
        if not ops:
            return
        queue = self.queues.get(lane)
        if queue is None:
            queue = self.queues[lane] = deque()
            if lane not in self.busy:
                self.ready.append(lane)
        queue.extend(ops)
        self.queued += len(ops)

    def wait(self) -> list[OpResult]:
        """Send what can go, then the results of the next answered request(s); [] once
        nothing is queued or in flight."""
        while True:
            holding = self._dispatch()
            if not self.flying:
                return []
            done, _ = wait(
                self.flying,
                timeout=HOLD_SECONDS if holding else None,
                return_when=FIRST_COMPLETED,
            )
            if not done:
                continue
            results: list[OpResult] = []
            for future in done:
                for lane in self.flying.pop(future):
                    self.busy.discard(lane)
                    if lane in self.queues:
                        # A lane under way goes first: a long chat is a chain of requests,
                        # and waiting behind every new lane would leave it for last.
                        self.ready.appendleft(lane)
            for future in done:
                results.extend(future.result())  # anything but MessengerError is raised here
            return results

    def _dispatch(self) -> bool:
        """Send full batches while there is room; a partial one only when no request is
        waiting for the rate limit (it would only queue behind them, while the answers
        they bring free lanes that could fill it). True when a partial batch is held back."""
        while self.ready and len(self.flying) < self.width:
            if not self._full() and self.flying and self.gateway.waiting_for_limit:
                return True
            ops: list[Op] = []
            lanes: list[Hashable] = []
            taken: list[Hashable] = []
            while self.ready and len(ops) < EXECUTE_LIMIT:
                lane = self.ready.popleft()
                queue = self.queues[lane]
                for _ in range(min(len(queue), EXECUTE_LIMIT - len(ops))):
                    ops.append(queue.popleft())
                    lanes.append(lane)
                if not queue:
                    del self.queues[lane]
                self.busy.add(lane)
                taken.append(lane)
            self.queued -= len(ops)
            future = self.executor.submit(self.gateway.send_batch, ops, lanes)
            self.flying[future] = taken
        return False

    def _full(self) -> bool:
        """Whether the ready lanes fill a whole batch."""
        count = 0
        for lane in self.ready:
            count += len(self.queues[lane])
            if count >= EXECUTE_LIMIT:
                return True
        return False


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def _api_error(error: Any) -> MessengerError:
    if not isinstance(error, dict) or not isinstance(error.get("error_code"), int):
        return MessengerError(f"непонятная ошибка мессенджера: {error!r:.200}", transient=True)
    code = error["error_code"]
    message = str(error.get("error_msg") or "ошибка без описания")
    return MessengerError(message, code=code, transient=code in TRANSIENT_CODES)


def _done(op: Op, value: Any) -> OpResult:
    return OpResult(op, value=value)


def _failed(op: Op, error: MessengerError) -> OpResult:
    if error.code is not None and error.code in op.done_codes:
        return OpResult(op, value=None)
    return OpResult(op, error=error)


def _split_execute(ops: list[Op], reply: dict) -> list[OpResult]:
    """`false` items are failures, matched in order with `execute_errors`."""
    items = reply.get("response")
    errors = reply.get("execute_errors") or []
    if not isinstance(items, list) or len(items) != len(ops) or not isinstance(errors, list):
        broken = MessengerError("ответ execute не совпадает с запросом", transient=True)
        return [_failed(op, broken) for op in ops]
    results, failures = [], iter(errors)
    for op, item in zip(ops, items, strict=True):
        if item is False:
            error = next(failures, None)
            failure = (
                _api_error(error)
                if error is not None
                else MessengerError("операция не выполнена, причина не указана", transient=True)
            )
            results.append(_failed(op, failure))
        else:
            results.append(_done(op, item))
    return results

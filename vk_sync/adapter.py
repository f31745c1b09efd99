"""VK Messenger over HTTP with the VK API's conventions (docs/messenger-protocol.md).

The one place that knows the wire: requests, `execute` batching, which failures are worth a
retry, the shared rate limit. When the real Sferum partner API is known, this module changes
and nothing else does.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from django.conf import settings

from vk_sync.gateway import TRANSIENT_CODES, MessengerError, Op, OpResult
from vk_sync.ratelimit import RateLimiter, shared_rate_limiter

log = logging.getLogger(__name__)

API_VERSION = "5.199"
EXECUTE_LIMIT = 25  # VK's limit of API calls inside one `execute`


class VkMessengerGateway:
    """`MessengerGateway` over HTTP. Transient failures are retried with exponential backoff
    and jitter within `max_attempts`; permanent ones come back as the operation's error."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        limiter: RateLimiter | None = None,
        timeout: float = 10.0,
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
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.client = client or httpx.Client(timeout=timeout)
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the interface -------------------------------------------------------------------

    def run(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run `ops` in order, 25 to an `execute`. Items that failed transiently inside an
        `execute` are tried again in later rounds, within the same attempt budget."""
        results: dict[int, OpResult] = {}
        pending = list(range(len(ops)))
        for attempt in range(1, self.max_attempts + 1):
            retry: list[int] = []
            for start in range(0, len(pending), EXECUTE_LIMIT):
                chunk = pending[start : start + EXECUTE_LIMIT]
                chunk_results, item_level = self._run_chunk([ops[i] for i in chunk])
                for index, result in zip(chunk, chunk_results, strict=True):
                    # A request's own retries are spent inside `call`; only an item that
                    # failed transiently inside a successful `execute` gets another round.
                    again = item_level and result.error is not None and result.error.transient
                    if again and attempt < self.max_attempts:
                        retry.append(index)
                    else:
                        results[index] = result
            if not retry:
                break
            pending = retry
            self._pause(attempt)
        return [results[i] for i in range(len(ops))]

    # --- one request ---------------------------------------------------------------------

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
        self.limiter.acquire()
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

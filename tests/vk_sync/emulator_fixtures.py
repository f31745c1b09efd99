"""The VK API + VK ID emulator for tests: a real HTTP server on a free port, in a thread.

Registered for the whole suite in tests/conftest.py. `emulator` is a fresh server per test,
`emulator_module` one per module (call `.reset()` between tests); `running_emulator(...)` starts
one with options (`token=`, `client_id=`, `state_file=`, `faults=`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from vk_sync.emulator import EmulatorApp, EmulatorServer, make_server

TEST_TOKEN = "test-token"
API_VERSION = "5.199"


class OffsetClock:
    """A real clock plus an offset the test moves forward, or frozen at one instant."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self.base = base
        self.offset = 0.0
        self.frozen: float | None = None

    def __call__(self) -> float:
        return self.frozen if self.frozen is not None else self.base() + self.offset

    def advance(self, seconds: float) -> None:
        if self.frozen is not None:
            self.frozen += seconds
        else:
            self.offset += seconds

    def freeze(self) -> None:
        self.frozen = self()


class EmulatorHandle:
    """A running emulator as a test sees it."""

    def __init__(self, server: EmulatorServer, clock: OffsetClock, monotonic: OffsetClock):
        self.server = server
        self.app: EmulatorApp = server.app
        self.url = server.url
        self.clock = clock  # VK ID codes
        self.monotonic = monotonic  # the rate limit
        # Plain http: no CA bundle to load (that alone costs ~40 ms a client).
        self.http = httpx.Client(base_url=self.url, timeout=10, verify=False)

    def state(self) -> dict[str, Any]:
        """`GET /emulator/state`."""
        return self._ok(self.http.get("/emulator/state"))

    def reset(self) -> None:
        """`POST /emulator/reset`: no links, chats, calls or faults."""
        self._ok(self.http.post("/emulator/reset"))

    def faults(self, **settings: Any) -> dict[str, Any]:
        """`POST /emulator/faults` with `settings` (merged into the current ones); with no
        arguments, `GET /emulator/faults`."""
        if not settings:
            return self._ok(self.http.get("/emulator/faults"))
        return self._ok(self.http.post("/emulator/faults", json=settings))

    def oauth(self) -> dict[str, int]:
        """`GET /emulator/oauth`: VK ID counters (codes and tokens issued)."""
        return self._ok(self.http.get("/emulator/oauth"))

    def stats(self) -> dict[str, Any]:
        """`GET /emulator/stats`: API requests counted (total, most in one second, refused by
        the rate limit, per method, per fault kind)."""
        return self._ok(self.http.get("/emulator/stats"))

    def api(self, method: str, *, token: str | None = TEST_TOKEN, **params: Any) -> dict:
        """One API call, as the whole JSON reply (`{"response": …}` or `{"error": …}`)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        data = {key: str(value) for key, value in params.items()} | {"v": API_VERSION}
        return self.http.post(f"/method/{method}", data=data, headers=headers).json()

    def advance_clock(self, seconds: float) -> None:
        """Move both emulator clocks forward: VK ID codes age, the rate-limit window slides."""
        self.clock.advance(seconds)
        self.monotonic.advance(seconds)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()


@contextmanager
def running_emulator(**app_options: Any) -> Iterator[EmulatorHandle]:
    """A started emulator, stopped on exit. Its per-request INFO lines are silenced meanwhile
    (a fault test makes hundreds); `caplog.set_level(logging.INFO, "vk_sync.emulator")` brings
    them back for a test that wants them."""
    clock, monotonic = OffsetClock(time.time), OffsetClock(time.monotonic)
    server = make_server("127.0.0.1", 0, clock=clock, monotonic=monotonic, **app_options)
    handle = EmulatorHandle(server.start(poll_interval=0.01), clock, monotonic)
    log = logging.getLogger("vk_sync.emulator")
    previous_level = log.level
    if previous_level == logging.NOTSET:
        log.setLevel(logging.WARNING)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()
        log.setLevel(previous_level)


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator() as handle:
        yield handle


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with running_emulator() as handle:
        yield handle

"""Fault injection for `/method/*` requests: a failure rate over chosen kinds (deterministic
for a seed), a rate limit over a sliding second, and added latency."""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("http500", "timeout", "error6", "lost_reply")
# Malformed replies, for clients' robustness tests; chosen only when named in `kinds`.
MALFORMED_KINDS = ("html", "truncated", "missing_fields")
ALL_KINDS = FAULT_KINDS + MALFORMED_KINDS
DEFAULT_TIMEOUT_S = 5.0


class FaultSettingsError(ValueError):
    """A fault setting out of range or of the wrong type (the message says which)."""


@dataclass
class FaultSettings:
    fail_rate: float = 0.0
    kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    rate_limit: int | None = None
    latency_ms: int = 0
    seed: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """A copy with `changes` applied, each checked; unknown keys are errors."""
        if not isinstance(changes, Mapping):
            raise FaultSettingsError("ожидается объект JSON")
        unknown = sorted(set(changes) - set(self.as_json()))
        if unknown:
            raise FaultSettingsError(f"неизвестные поля: {', '.join(unknown)}")
        data = self.as_json() | dict(changes)
        return FaultSettings(
            fail_rate=float(_number(data["fail_rate"], "fail_rate", 0.0, 1.0)),
            kinds=_kinds(data["kinds"]),
            rate_limit=(
                None
                if data["rate_limit"] in (None, 0)
                else int(_number(data["rate_limit"], "rate_limit", 1, 1_000_000, integer=True))
            ),
            latency_ms=int(_number(data["latency_ms"], "latency_ms", 0, 600_000, integer=True)),
            seed=int(_number(data["seed"], "seed", -(2**63), 2**63, integer=True)),
            timeout_s=float(_number(data["timeout_s"], "timeout_s", 0.0, 3600.0)),
        )


def _number(value: Any, name: str, low: float, high: float, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultSettingsError(f"{name}: ожидается число")
    if integer and not isinstance(value, int):
        raise FaultSettingsError(f"{name}: ожидается целое число")
    if not low <= value <= high:
        raise FaultSettingsError(f"{name}: ожидается число от {low} до {high}")
    return value


def _kinds(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [kind.strip() for kind in value.split(",") if kind.strip()]
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise FaultSettingsError("kinds: ожидается список строк")
    wrong = [kind for kind in value if kind not in ALL_KINDS]
    if wrong:
        raise FaultSettingsError(
            f"kinds: неизвестные виды {', '.join(wrong)}; возможны {', '.join(ALL_KINDS)}"
        )
    return list(dict.fromkeys(value))


class FaultInjector:
    """Decides, per API request, whether it is rate-limited and which fault (if any) it gets,
    and counts what happened (`stats()`). Setting the faults re-seeds the generator, so a
    sequence of requests replays exactly."""

    def __init__(
        self,
        settings: FaultSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.lock = threading.Lock()
        self.monotonic = monotonic
        self._apply(settings or FaultSettings())
        self._clear_stats()

    def _clear_stats(self) -> None:
        self.arrivals: collections.deque[float] = collections.deque()
        self.counts: dict[str, Any] = {
            "requests": 0,
            "max_per_second": 0,
            "rate_limited": 0,
            "methods": collections.Counter(),
            "faults": collections.Counter(),
        }

    def stats(self) -> dict[str, Any]:
        """Requests to `/method/*` since the start or the last reset: how many, the most in
        any one second (refused ones included), how many were refused by the rate limit, per
        method and per fault kind."""
        with self.lock:
            return {
                key: dict(sorted(value.items())) if isinstance(value, dict) else value
                for key, value in self.counts.items()
            }

    def _apply(self, settings: FaultSettings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.window: collections.deque[float] = collections.deque()

    @property
    def current(self) -> FaultSettings:
        with self.lock:
            return self.settings

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        with self.lock:
            self._apply(self.settings.updated(changes))
            return self.settings

    def clear(self) -> None:
        """Faults off and counters at zero."""
        with self.lock:
            self._apply(FaultSettings())
            self._clear_stats()

    def admit(self, method: str) -> bool:
        """Count the request; False when it goes over `rate_limit` in the last second.
        Refused requests do not fill the window, so a client that slows down is served
        again after a second."""
        with self.lock:
            now = self.monotonic()
            counts = self.counts
            counts["requests"] += 1
            counts["methods"][method] += 1
            self.arrivals.append(now)
            while self.arrivals[0] <= now - 1.0:
                self.arrivals.popleft()
            counts["max_per_second"] = max(counts["max_per_second"], len(self.arrivals))
            limit = self.settings.rate_limit
            if limit is None:
                return True
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= limit:
                counts["rate_limited"] += 1
                return False
            self.window.append(now)
            return True

    def draw(self) -> str | None:
        """The fault for this request, or None. One draw per request, two when it fails."""
        with self.lock:
            settings = self.settings
            if settings.fail_rate <= 0 or not settings.kinds:
                return None
            if self.rng.random() >= settings.fail_rate:
                return None
            kind = self.rng.choice(settings.kinds)
            self.counts["faults"][kind] += 1
            return kind

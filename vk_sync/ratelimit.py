"""The client-side limit of requests per second to the messenger (VK_API_RATE_LIMIT).

The window is a little over a second: the messenger counts arrivals, which network jitter
spreads differently from departures, and it must never see one request too many.

With Redis every worker of a region draws from one budget (a sliding window); without it
(`make run`) the budget is per process, which is all there is then. Either is safe to share
between the threads of a push (vk_sync/adapter.py keeps several requests in flight): a slot
is taken atomically, under a lock here or in one Lua script in Redis.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from django.conf import settings

WINDOW = 1.05  # seconds


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Return when one more request fits in the budget (sleeping until it does)."""


class LocalRateLimiter:
    """A sliding window in this process, shared by its threads."""

    def __init__(self, rate: int, *, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                while self.sent and now - self.sent[0] >= WINDOW:
                    self.sent.popleft()
                if len(self.sent) < self.rate:
                    self.sent.append(now)
                    return
                wait = WINDOW - (now - self.sent[0])
            self.sleep(max(wait, 0.001))


# A sliding one-second window in a sorted set, checked and filled atomically: with a counter
# per wall-clock second, two bursts either side of a boundary would double the rate.
_SLIDING_WINDOW = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
    return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    """One sliding window shared by every process through Redis."""

    def __init__(
        self, rate: int, url: str, *, key: str = "vk-api-rate", clock=time.time, sleep=time.sleep
    ):
        import redis

        self.rate, self.key, self.clock, self.sleep = rate, key, clock, sleep
        self.redis = redis.Redis.from_url(url)
        self.script = self.redis.register_script(_SLIDING_WINDOW)

    def acquire(self) -> None:
        while True:
            wait = float(
                self.script(
                    keys=[self.key],
                    args=[repr(self.clock()), WINDOW, self.rate, uuid.uuid4().hex],
                )
            )
            if wait <= 0:
                return
            self.sleep(max(wait, 0.001))


_limiter: RateLimiter | None = None
_limiter_config: tuple | None = None
_limiter_lock = threading.Lock()


def shared_rate_limiter() -> RateLimiter:
    """The process's limiter for the configured rate, built once (two would each allow R)."""
    global _limiter, _limiter_config
    config = (settings.VK_API_RATE_LIMIT, settings.REDIS_URL)
    with _limiter_lock:
        if _limiter is None or _limiter_config != config:
            rate, url = config
            _limiter = RedisRateLimiter(rate, url) if url else LocalRateLimiter(rate)
            _limiter_config = config
        return _limiter

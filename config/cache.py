"""Django's Redis cache that a Redis outage cannot turn into a 500.

The cache only ever holds what can be rebuilt (sessions are `cached_db`: the database has
them; the sign-in throttle's counters): with Redis down a read is a miss, a write is dropped
and a warning is logged, once per outage and then every minute, not once per request.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

REDIS_CACHE_BACKEND = "config.cache.TolerantRedisCache"
OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
_WARN_EVERY = 60.0


class _Outage:
    last_warning = 0.0

    @classmethod
    def report(cls, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - cls.last_warning >= _WARN_EVERY:
            cls.last_warning = now
            log.warning(
                "Кэш Redis недоступен (%s: %s): страницы работают без него",
                operation,
                type(error).__name__,
            )


def _tolerant(operation: str, fallback):
    def wrap(method):
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except OUTAGE as error:
                _Outage.report(operation, error)
                return fallback(*args, **kwargs) if callable(fallback) else fallback

        return call

    return wrap


class TolerantRedisCacheClient(RedisCacheClient):
    """Short timeouts, so a dead Redis costs a page milliseconds, not the OS's TCP timeout."""

    def __init__(self, servers, **options):
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        super().__init__(servers, **options)

    get = _tolerant("get", lambda key, default: default)(RedisCacheClient.get)
    get_many = _tolerant("get_many", lambda keys: {})(RedisCacheClient.get_many)
    has_key = _tolerant("has_key", False)(RedisCacheClient.has_key)
    add = _tolerant("add", False)(RedisCacheClient.add)
    set = _tolerant("set", None)(RedisCacheClient.set)
    set_many = _tolerant("set_many", None)(RedisCacheClient.set_many)
    touch = _tolerant("touch", False)(RedisCacheClient.touch)
    delete = _tolerant("delete", False)(RedisCacheClient.delete)
    delete_many = _tolerant("delete_many", None)(RedisCacheClient.delete_many)
    clear = _tolerant("clear", False)(RedisCacheClient.clear)
    # incr keeps raising: a counter that silently stays put would be wrong, not degraded.


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient

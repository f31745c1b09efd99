"""Sign-in throttling: after SIGN_IN_MAX_FAILURES failed attempts for one login, or from one
address, within SIGN_IN_WINDOW_SECONDS, further attempts are refused until the window passes.

Counts live in the cache (Redis in production, shared by every gunicorn worker). A cache that
is down must not stop people signing in: the throttle then lets the attempt through and says
so in the log, once per attempt.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

MESSAGE = "Слишком много попыток входа. Попробуйте через {minutes} {word}."


def _minutes_word(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "минуту"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "минуты"
    return "минут"


def _key(kind: str, value: str) -> str:
    # Hashed: a login is personal data and has no business in the cache's key space.
    digest = hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"signin-fail:{kind}:{digest[:32]}"


def _keys(login: str, address: str) -> list[str]:
    keys = [_key("address", address or "-")]
    if login:
        keys.append(_key("login", login.strip().casefold()))
    return keys


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def locked_for(login: str, address: str) -> int:
    """Seconds until another attempt is allowed; 0 when it is allowed now."""
    now = time.time()
    try:
        found = cache.get_many(_keys(login, address))
    except Exception:  # a cache outage must not lock everyone out
        log.warning("Ограничение попыток входа не проверено: кэш недоступен")
        return 0
    wait = 0
    for failures in found.values():
        if not isinstance(failures, list):
            continue
        recent = [t for t in failures if t > now - settings.SIGN_IN_WINDOW_SECONDS]
        if len(recent) >= settings.SIGN_IN_MAX_FAILURES:
            # Locked until the oldest of the last N failures leaves the window.
            oldest = sorted(recent)[-settings.SIGN_IN_MAX_FAILURES]
            wait = max(wait, math.ceil(oldest + settings.SIGN_IN_WINDOW_SECONDS - now))
    return wait


def record_failure(login: str, address: str) -> None:
    now = time.time()
    window = settings.SIGN_IN_WINDOW_SECONDS
    try:
        for key in _keys(login, address):
            failures = cache.get(key)
            if not isinstance(failures, list):
                failures = []
            failures = [t for t in failures if t > now - window]
            # Only the last N matter; the list stays small whatever an attacker sends.
            failures = [*failures, now][-settings.SIGN_IN_MAX_FAILURES :]
            cache.set(key, failures, timeout=window)
    except Exception:
        log.warning("Неудачная попытка входа не учтена: кэш недоступен")


def clear(login: str, address: str) -> None:
    """A successful sign-in forgets the login's failures (the address's stay counted)."""
    try:
        cache.delete(_key("login", login.strip().casefold()))
    except Exception:
        log.warning("Счётчик попыток входа не сброшен: кэш недоступен")


def message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return MESSAGE.format(minutes=minutes, word=_minutes_word(minutes))

"""Typed readers of environment variables that fail loudly on a malformed value.

Every setting of the product comes through one of these, so a typo in a deployment's
environment stops the start with a message that names the variable, not a confusing
error an hour later.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    return value.strip() if value is not None else None


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Переменная окружения {name}={value!r}: ожидается {expected}.")


def _without_password(url: str) -> str:
    """The URL as it may be printed: an error message ends up in logs, a password must not."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}").geturl()


def env_str(name: str, default: str = "", *, environ=None) -> str:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False, *, environ=None) -> bool:
    value = _raw(name, environ)
    # Empty means unset, as for every other helper: `DEBUG=` in an .env file keeps the default.
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _bad(name, value, "true или false (также 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, min_value: int | None = None, environ=None) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, "целое число") from None
    if min_value is not None and number < min_value:
        raise _bad(name, value, f"целое число не меньше {min_value}")
    return number


def env_fraction(name: str, default: float, *, environ=None) -> float:
    """A share between 0 and 1, such as 0.2 for 20 %."""
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise _bad(name, value, "доля от 0 до 1, например 0.2") from None
    if not 0 <= number <= 1:
        raise _bad(name, value, "доля от 0 до 1, например 0.2")
    return number


def env_list(name: str, default: list[str] | None = None, *, environ=None) -> list[str]:
    value = _raw(name, environ)
    if value is None or value == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_date(name: str, default: dt.date | None = None, *, environ=None) -> dt.date | None:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _bad(name, value, "дата в формате ГГГГ-ММ-ДД или пустое значение") from None


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ=None) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise _bad(name, value, "одно из: " + ", ".join(choices))
    return value


def env_time_zone(name: str, default: str, *, environ=None) -> str:
    value = env_str(name, default, environ=environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _bad(name, value, "часовой пояс IANA, например Europe/Moscow") from None
    return value


def env_url(name: str, default: str = "", *, environ=None) -> str:
    value = env_str(name, default, environ=environ)
    if value:
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number 0–65535
        except ValueError:
            raise _bad(name, _without_password(value), "порт числом от 0 до 65535") from None
        if parts.scheme not in ("http", "https", "redis", "rediss") or not parts.hostname:
            raise _bad(name, _without_password(value), "адрес вида https://host[:port]/path")
    return value.rstrip("/") if value.startswith("http") else value


def env_database(name: str, default: str, *, base_dir: Path, environ=None) -> dict:
    """Django's DATABASES['default'] from a URL: sqlite:///relative.db, sqlite:////abs.db,
    postgres://user:password@host:port/name?sslmode=require."""
    url = env_str(name, default, environ=environ)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite://var/db.sqlite3 (two slashes) would quietly read «var» as a host.
        if parts.netloc or not path or path == "/":
            raise _bad(name, url, "sqlite:///путь/к/файлу.sqlite3 (три косые черты)")
        # sqlite:///var/db.sqlite3 is relative to the project, sqlite:////abs is absolute.
        path = path[1:]
        if path != ":memory:":
            path = str(Path(path) if path.startswith("/") else base_dir / path)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {"timeout": 20},
        }
    shown = _without_password(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        name_part = unquote(parts.path.lstrip("/"))
        if not name_part:
            raise _bad(name, shown, "postgres://user:password@host:5432/имя_базы")
        try:
            port = parts.port
        except ValueError:
            raise _bad(name, shown, "порт PostgreSQL числом от 1 до 65535") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name_part,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # JIT off unless the URL says otherwise: it compiles for a planner's row estimate,
            # and on the picker's short queries that cost 100+ ms for nothing (bench/README.md).
            "OPTIONS": {"options": "-c jit=off", **dict(parse_qsl(parts.query))},
        }
    raise _bad(name, shown, "адрес базы sqlite:///… или postgres://…")


def embedded_secret_key(path: Path) -> str:
    """A random SECRET_KEY for the embedded SQLite setup, made once and kept in `path`."""
    import secrets

    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 50:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key, encoding="ascii")
    path.chmod(0o600)
    return key

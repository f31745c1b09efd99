"""`python -m bench load` (also `python -m bench.load`): the product under gunicorn (2 workers)
on PostgreSQL, with simulated users signing in, opening «Чаты», searching, opening a chat's
settings and publishing and finishing its calls, from threads of this process over loopback.

Passes when no request failed and the database afterwards holds exactly the writes the users
made — every call a user published and finished is finished, each with one audit record per
action (nothing lost, nothing twice). Prints the median and p95 of the response times.

    python -m bench load [--users 50] [--seconds 60] [--workers 2]

DATABASE_URL names the PostgreSQL server (its database part is ignored): the benchmark makes a
database of its own there, `epos_load_<random>`, and drops it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "load-pass-1234"
CALLS_PER_USER = 200
SEARCHES = ["ИС", "Группа", "Родители", "а", "Преподаватели", "1"]


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    published: Counter = field(default_factory=Counter)  # user → calls published
    finished: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float) -> None:
        with self.lock:
            self.times.append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench load меряет PostgreSQL: задайте DATABASE_URL=postgres://user@host:port/любая"
        )
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}", query=parts.query).geturl()


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(_with_database(url, "postgres"))
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def _environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",  # plain http on loopback; DEBUG pages never show (no errors expected)
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "VK_SYNC_ENABLED": "false",  # the rows record what should go; the messenger is not measured
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def prepare(users: int) -> list[tuple[str, int, list[int]]]:
    """The demo college, and per simulated user an OO admin account with a chat of its own
    and calls to publish and finish: (login, chat id, call ids)."""
    import django
    from django.core.management import call_command

    django.setup()
    from django.utils import timezone

    from calls.models import OnlineCall
    from directory.models import Organization, Person, StaffMember
    from epos_chats.models import Chat, ChatMember

    call_command("migrate", verbosity=0)
    call_command("seed_demo", groups=3, students=10, verbosity=0, stdout=io.StringIO())
    org = Organization.objects.order_by("pk").first()
    now = timezone.now()
    plan = []
    for n in range(users):
        person = Person.objects.create_user(
            f"load-{n}", PASSWORD, last_name="Нагрузкин", first_name=f"Пользователь{n}"
        )
        StaffMember.objects.create(
            organization=org, person=person, external_id=f"load-{n}", is_admin=True
        )
        chat = Chat.objects.create(
            organization=org,
            kind="custom",
            platform="vk",
            title=f"Нагрузочный чат {n}",
            created_by=person,
        )
        ChatMember.objects.create(chat=chat, person=person, is_admin=True)
        calls = OnlineCall.objects.bulk_create(
            OnlineCall(
                chat=chat,
                title=f"Звонок {n}-{i}",
                starts_at=now + dt.timedelta(days=1, minutes=i),
                status="created",
                created_by=person,
                last_actor=person,
                created_at=now,
                changed_at=now,
            )
            for i in range(CALLS_PER_USER)
        )
        plan.append((person.login, chat.pk, [call.pk for call in calls]))
    from django.db import connections

    connections.close_all()
    return plan


def simulate(
    base: str, login: str, chat_id: int, call_ids: list[int], deadline: float, tally: Tally
) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:

        def request(method: str, url: str, expect: tuple[int, ...] = (200,), **kwargs):
            started = time.perf_counter()
            try:
                response = client.request(method, url, **kwargs)
            except httpx.HTTPError as error:
                tally.error(f"{login} {method} {url}: {type(error).__name__}")
                return None
            tally.add(time.perf_counter() - started)
            if response.status_code not in expect:
                tally.error(f"{login} {method} {url}: HTTP {response.status_code}")
                return None
            return response

        def post(url: str, data: dict | None = None):
            token = client.cookies.get("csrftoken", "")
            return request("POST", url, (302,), data={"csrfmiddlewaretoken": token, **(data or {})})

        request("GET", "/login/")
        if post("/login/", {"username": login, "password": PASSWORD}) is None:
            return
        pending = list(call_ids)
        turn = 0
        while time.monotonic() < deadline:
            turn += 1
            request("GET", "/chats/")
            request("GET", "/chats/", params={"q": SEARCHES[turn % len(SEARCHES)]})
            request("GET", f"/chats/{chat_id}/")
            if pending:
                call = pending.pop(0)
                if request("GET", f"/calls/{call}/publish/") and post(f"/calls/{call}/publish/"):
                    tally.published[login] += 1
                    if post(f"/calls/{call}/finish/"):
                        tally.finished[login] += 1
            request("GET", "/")


def check_database(plan, tally: Tally) -> list[str]:
    from calls.models import OnlineCall
    from epos_chats.models import AuditEvent

    problems = []
    for login, chat_id, _ in plan:
        calls = OnlineCall.objects.filter(chat_id=chat_id)
        finished = calls.filter(status="finished").count()
        published = calls.filter(published_at__isnull=False).count()
        if finished != tally.finished[login] or published != tally.published[login]:
            problems.append(
                f"{login}: в базе опубликовано {published}, завершено {finished}; "
                f"пользователь опубликовал {tally.published[login]}, "
                f"завершил {tally.finished[login]}"
            )
        ids = list(calls.values_list("pk", flat=True))
        for action, want in (
            (AuditEvent.Action.CALL_PUBLISHED, tally.published[login]),
            (AuditEvent.Action.CALL_FINISHED, tally.finished[login]),
        ):
            events = Counter(
                AuditEvent.objects.filter(action=action, object_id__in=ids).values_list(
                    "object_id", flat=True
                )
            )
            if sum(events.values()) != want or any(n != 1 for n in events.values()):
                problems.append(f"{login}: записей аудита «{action}» {dict(events)}, ждали {want}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="не удалять базу после замера")
    args = parser.parse_args(argv)

    server = _server_url()
    name = f"epos_load_{secrets.token_hex(4)}"
    database_url = _with_database(server, name)
    _admin(server, f'CREATE DATABASE "{name}"')
    env = _environment(database_url)
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DJANGO_SETTINGS_MODULE",
                "DEBUG",
                "DATABASE_URL",
                "REDIS_URL",
                "VK_SYNC_ENABLED",
                "LOG_LEVEL",
            )
        }
    )
    sys.path.insert(0, ROOT)
    gunicorn = None
    try:
        started = time.perf_counter()
        plan = prepare(args.users)
        print(f"Подготовка: {time.perf_counter() - started:.1f} с, база {name}")
        port = _free_port()
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_for(port, gunicorn)
        tally = Tally()
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=simulate, args=(base, login, chat, calls, deadline, tally))
            for login, chat, calls in plan
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        problems = check_database(plan, tally)
        times = sorted(tally.times)
        p95 = times[max(0, int(len(times) * 0.95) - 1)] if times else 0.0
        print(
            f"bench load: {args.users} пользователей × {args.seconds:g} с, gunicorn × "
            f"{args.workers}: запросов {len(times)}, ошибок {len(tally.errors)}, "
            f"опубликовано {sum(tally.published.values())}, "
            f"завершено {sum(tally.finished.values())}"
        )
        if times:
            print(f"  медиана {statistics.median(times) * 1000:.0f} мс, p95 {p95 * 1000:.0f} мс")
        for line in tally.errors[:20] + problems[:20]:
            print("  !! " + line, file=sys.stderr)
        return 1 if tally.errors or problems or not times else 0
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn завершился с кодом {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("gunicorn не запустился за 30 с")


if __name__ == "__main__":
    sys.exit(main())

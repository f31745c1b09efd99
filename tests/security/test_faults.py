"""Faults (issue 10, point 5), with real services started and stopped from the test on this
machine's loopback: PostgreSQL restarted during a nightly run, Redis down, the messenger (its
emulator) down for a whole night. Each ends with the journal and the messenger converged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse

from config.cache import REDIS_CACHE_BACKEND
from epos_chats.nightly import run_nightly
from tests.security.services import PrivatePostgres, PrivateRedis
from tests.vk_sync.emulator_fixtures import running_emulator
from tests.vk_sync.test_reconcile import College, actual, expected
from vk_sync.adapter import VkMessengerGateway
from vk_sync.models import SyncRun
from vk_sync.ratelimit import LocalRateLimiter

BASE_DIR = Path(__file__).resolve().parents[2]


def fast_gateway(monkeypatch, *, attempts: int = 3, shared_limit: bool = False):
    """The product's gateway with short back-off, so a night without the messenger takes
    seconds, not minutes."""

    def make():
        return VkMessengerGateway(
            # The product's own limiter (in Redis when REDIS_URL is set) where it matters.
            limiter=None if shared_limit else LocalRateLimiter(1000),
            timeout=1,
            max_attempts=attempts,
            backoff=0.01,
            max_backoff=0.05,
        )

    monkeypatch.setattr("vk_sync.reconcile.gateway_for_settings", make)


# --- PostgreSQL restarted during a nightly run ----------------------------------------------

# What the messenger must hold, printed by the product itself from its database.
EXPECTED = """
import json
from tests.vk_sync.test_reconcile import expected
from directory.models import Organization
links, chats = set(), {}
for org in Organization.objects.all():
    l, c = expected(org)
    links |= l
    chats |= c
print(json.dumps({"links": sorted(links), "chats": {k: [v[0], sorted(v[1].items())]
                  for k, v in chats.items()}}))
"""


def _manage(env, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.postgres
def test_postgres_restarted_during_a_nightly_run_fails_it_cleanly_and_the_next_completes():
    pg = PrivatePostgres()
    try:
        pg.start()
        pg.createdb()
        with running_emulator() as emulator:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "true",
                "DATABASE_URL": pg.url,
                "REDIS_URL": "",
                "VK_API_BASE_URL": emulator.url,
                "VK_API_TOKEN": "test-token",
                "VK_API_RATE_LIMIT": "1000",
                "VK_SYNC_ENABLED": "true",
            }
            for args in (("migrate", "-v0"), ("seed_demo", "--groups", "2", "--students", "5")):
                result = _manage(env, *args)
                assert result.returncode == 0, result.stderr

            # Night 1: the messenger answers slowly, and PostgreSQL restarts in the middle.
            # Slow enough that the first answer is still on its way when PostgreSQL stops: the
            # push sends a small college in one or two requests, several in flight at once.
            emulator.faults(latency_ms=1000)
            nightly = subprocess.Popen(
                [sys.executable, "manage.py", "nightly"],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 120
            while emulator.stats()["requests"] < 1 and time.monotonic() < deadline:
                assert nightly.poll() is None, nightly.communicate()
                time.sleep(0.05)
            pg.stop()
            time.sleep(1)
            pg.start()
            out, err = nightly.communicate(timeout=300)
            # It fails, and says why: not a silent success, not a hang.
            assert nightly.returncode != 0, out
            assert "OperationalError" in err or "connection" in err.lower(), err[-2000:]

            # Night 2 (a night later: the killed run's «running» row is older than STALE_AFTER).
            _manage(
                env,
                "shell",
                "-c",
                (
                    "from django.utils import timezone; import datetime as dt;"
                    "from vk_sync.models import SyncRun;"
                    "SyncRun.objects.filter(status='running').update("
                    "heartbeat_at=timezone.now() - dt.timedelta(hours=23))"
                ),
            )
            emulator.faults(latency_ms=0)
            second = _manage(env, "nightly")
            assert second.returncode == 0, second.stderr
            assert "мессенджер: операций" in second.stdout, second.stdout

            # The messenger holds exactly what the journal says.
            result = _manage(env, "shell", "-c", EXPECTED)
            assert result.returncode == 0, result.stderr
            want = json.loads(result.stdout.strip().splitlines()[-1])
            links, chats, _ = actual(emulator)
            assert sorted(map(list, links)) == want["links"]
            got = {k: [v[0], sorted(v[1].items())] for k, v in chats.items()}
            assert {k: [t, [list(m) for m in ms]] for k, (t, ms) in got.items() if ms} == {
                k: v for k, v in want["chats"].items() if v[1]
            }
            third = _manage(env, "nightly")
            assert "мессенджер: без изменений" in third.stdout, third.stdout
    finally:
        pg.close()


# --- the messenger down for a whole night --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_messenger_down_all_night_converges_the_next_night(monkeypatch, settings):
    fast_gateway(monkeypatch)
    college = College(groups=1, students=3)
    with running_emulator() as emulator:
        dead_url = emulator.url
    settings.VK_SYNC_ENABLED = True
    settings.VK_API_BASE_URL = dead_url  # nobody listens there any more
    report = run_nightly(college.org)
    assert "ошибок" in report.lines[-1], report.lines
    failed = SyncRun.objects.filter(organization=college.org).latest("started_at")
    assert failed.status == SyncRun.Status.ERRORS and failed.errors

    with running_emulator() as emulator:
        settings.VK_API_BASE_URL = emulator.url
        report = run_nightly(college.org)
        assert SyncRun.objects.latest("started_at").status == SyncRun.Status.OK, report.lines
        links, chats, _ = actual(emulator)
        assert (links, chats) == expected(college.org)


# --- Redis down ----------------------------------------------------------------------------


@pytest.fixture
def redis_server():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_redis_down_pages_keep_working_and_pushes_catch_up(
    client, redis_server, monkeypatch, settings
):
    fast_gateway(monkeypatch, attempts=2, shared_limit=True)
    caches = {
        "default": {
            # The backend config/settings.py uses whenever REDIS_URL is set.
            "BACKEND": os.environ.get("FAULTS_CACHE_BACKEND", REDIS_CACHE_BACKEND),
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "faults",
        }
    }
    college = College(groups=1, students=2)
    admin = college.admin.person
    # All through pytest-django's `settings` (never a nested override_settings: its undo
    # would run in the wrong order and leak this Redis into the next tests).
    settings.CACHES = caches
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.REDIS_URL = redis_server.url
    settings.VK_SYNC_ENABLED = True
    with running_emulator() as emulator:
        settings.VK_API_BASE_URL = emulator.url
        signed_in = client.post(
            reverse("login"), {"username": admin.login, "password": "pass-1234"}
        )
        assert signed_in.status_code == 302
        assert client.get(reverse("epos_chats:index")).status_code == 200

        redis_server.stop()
        # The pages a person opens keep working, signed in or signing in.
        for url in (reverse("desktop"), reverse("epos_chats:index")):
            assert client.get(url).status_code == 200, url
        client.logout()
        again = client.post(reverse("login"), {"username": admin.login, "password": "pass-1234"})
        assert again.status_code == 302
        assert client.get(reverse("desktop")).status_code == 200
        # A push meanwhile cannot run (the shared rate limit lives in Redis) and loses
        # nothing: it is the next one's difference.
        try:
            run_nightly(college.org)
        except Exception as error:  # the push stops at the rate limiter
            assert "redis" in type(error).__module__ or "Connection" in type(error).__name__
        assert actual(emulator)[:2] != expected(college.org)

        redis_server.start()
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.ABANDONED
        )
        run_nightly(college.org)
        assert actual(emulator)[:2] == expected(college.org)

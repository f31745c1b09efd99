"""The services the product runs on: the cache, the task queue, the database."""

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import app


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL не задан: кэш в памяти")
def test_the_cache_round_trips_through_redis_when_redis_url_is_set():
    key = f"infra-{uuid.uuid4()}"
    cache.set(key, {"ok": "да"}, 30)
    assert cache.get(key) == {"ok": "да"}
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.delete(key)


def test_celery_runs_tasks_in_process_exactly_when_there_is_no_redis():
    assert settings.CELERY_TASK_ALWAYS_EAGER is (not settings.REDIS_URL)
    assert app.conf.broker_url == (settings.REDIS_URL or "memory://")


@pytest.mark.postgres
@pytest.mark.django_db
def test_ci_runs_against_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_the_system_checks_that_read_the_database_pass_at_warning_level():
    """What `migrate` (and so `make run`) checks: models against what this database
    supports. A warning here would greet every fresh start."""
    from django.core.management import call_command

    call_command("check", "--database", "default", "--fail-level", "WARNING", verbosity=0)

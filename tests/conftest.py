import pytest
from django.db import connection

pytest_plugins = ["tests.vk_sync.emulator_fixtures"]


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("postgresql"):
        return
    skip = pytest.mark.skip(
        reason="нужен PostgreSQL: задайте DATABASE_URL=postgres://… (так его запускает .ci/run)"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Tasks run where the test can see their effects, even when CI points Celery at Redis;
    tests/test_infrastructure.py covers the broker itself."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (sign-in throttles, message rate limits, cached
    ids), without flushing the Redis database other processes share."""
    yield
    from django.conf import settings
    from django.core.cache import cache

    from config.cache import OUTAGE

    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        try:
            client = cache._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        except OUTAGE:
            pass  # tests/security/test_faults.py stops Redis on purpose
    else:
        cache.clear()

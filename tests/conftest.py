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

"""`bench load` at CI size (issue 10, point 6): 10 users for 10 s against gunicorn with two
workers on PostgreSQL; zero errors, zero lost or duplicated writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_bench_load_at_ci_size_has_no_errors_and_loses_no_writes():
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    env = {**os.environ, "DATABASE_URL": server}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", "--users", "10", "--seconds", "10"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ошибок 0" in result.stdout and "медиана" in result.stdout and "p95" in result.stdout

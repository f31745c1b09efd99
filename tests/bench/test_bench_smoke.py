"""CI smoke test of `python -m bench all --scale small` (issue 9): every benchmark runs on
PostgreSQL and prints every figure. Goals are checked at region scale only, not here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "nightly": ["T_full", "T_sql (нижняя граница)", "T_noop", "T_churn", "пик памяти процесса"],
    "workers": ["ускорение 2 воркеров", "одинаковый результат (1 и 2 воркера, все прогоны)"],
    "page": ["администратор ОО: запросов при 10 и 100 чатах", "обучающийся, 100 чатов: медиана"],
    "picker": ["EXPLAIN поиска по части ФИО"],
    "push": ["без сбоев: доля потолка 25 × R", "10 % сбоев: состояние эмулятора = журнал"],
}


def _database_url(name: str) -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def bench_database():
    """A database of its own: the benchmarks load a region and truncate chats in it."""
    name = f"{connection.settings_dict['NAME']}_bench"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield _database_url(name)
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bench_all_small_runs_and_prints_every_figure(bench_database):
    env = dict(
        os.environ,
        DATABASE_URL=bench_database,
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-smoke"),
        BENCH_REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--scale", "small", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    printed = {(line["bench"], line["figure"]) for line in lines}
    for bench, figures in FIGURES.items():
        for figure in figures:
            assert (bench, figure) in printed, (bench, figure)
    assert all(line["met"] is None for line in lines), "goals are not checked at small scale"
    assert {line["bench"] for line in lines} >= set(FIGURES) | {"dashboard"}

"""`python -m bench workers [--scale small|region] [--json]`: the region's nightly through real
Celery workers on Redis (`celery -A config worker -c 1`, then `-c 2`, started here as child
processes with this DATABASE_URL and REDIS_URL, db 14 unless REDIS_URL is set). One
`nightly_for_organization` task per college; done when every college has its RebuildRun row.
The push is switched off in the workers (VK_SYNC_ENABLED=false): `bench push` measures it.
Figures: the wall time with one and two worker processes (in turns, the best of two runs each
at region scale), the speed-up, and whether every run ends with the same membership."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import (
    ROOT,
    Report,
    ensure_region,
    membership_fingerprint,
    reset_chats,
    run_main,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TIMEOUT = 1800  # seconds for one fan-out
ROUNDS = 2  # at region scale: 1, 2, 1, 2 workers


def _app(redis_url: str):
    from celery import Celery

    return Celery("bench", broker=redis_url)


def start_worker(concurrency: int, redis_url: str, database_url: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
        VK_SYNC_ENABLED="false",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-not-a-secret"),
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-c",
            str(concurrency),
            "-P",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench{concurrency}-{os.getpid()}@%h",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(app, worker: subprocess.Popen, concurrency: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker -c {concurrency} вышел с кодом {worker.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"celery worker -c {concurrency} не ответил за 60 с")


def stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def fan_out(app, org_ids, now) -> float:
    """Enqueue one task per college and wait until each has recorded its RebuildRun."""
    from epos_chats.models import RebuildRun

    started = time.perf_counter()
    for pk in org_ids:
        app.send_task("epos_chats.tasks.nightly_for_organization", args=[pk, now.isoformat()])
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done = RebuildRun.objects.filter(
            organization__in=org_ids, started_at=now, finished_at__isnull=False
        ).count()
        if done >= len(org_ids):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("фан-аут не закончился вовремя")


def _spin(_=None) -> float:
    """Pure-Python counting, ~1 s on one core: the machine's CPU alone, no database."""
    started = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - started


def cpu_speedup() -> float:
    """What two processes of plain counting gain over one on this machine: the ceiling of any
    two-worker speed-up here (a VM's second vCPU is often a sibling thread, not a core)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    alone = min(_spin() for _ in range(2))
    # Spawned, not forked: this process holds threads (Redis, Celery) a fork could freeze.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        list(pool.map(time.sleep, [0.3, 0.3]))  # both interpreters start before the clock
        started = time.perf_counter()
        list(pool.map(_spin, range(2)))
        together = time.perf_counter() - started
    return 2 * alone / together


def body(report: Report) -> None:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    org_ids = ensure_region(report.scale, report)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    db = connection.settings_dict
    database_url = os.environ.get("DATABASE_URL") or (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    app = _app(redis_url)
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
    # In turns, 1 then 2, ROUNDS times; the best of each: a burst of load elsewhere on the
    # machine slows one run, not the figure.
    seconds: dict[int, list[float]] = {1: [], 2: []}
    results: dict[int, set] = {1: set(), 2: set()}
    for round_ in range(ROUNDS if report.scale.check_goals else 1):
        for concurrency in (1, 2):
            reset_chats()
            worker = start_worker(concurrency, redis_url, database_url)
            try:
                wait_ready(app, worker, concurrency)
                now = timezone.now() + dt.timedelta(microseconds=10 * round_ + concurrency)
                seconds[concurrency].append(fan_out(app, org_ids, now))
            finally:
                stop(worker)
            results[concurrency].add(membership_fingerprint(org_ids))
    for concurrency in (1, 2):
        report.add(
            f"воркеров {concurrency}: время (лучшее из {len(seconds[concurrency])})",
            min(seconds[concurrency]),
            "с",
        )
        report.add(
            f"воркеров {concurrency}: участников",
            ", ".join(str(rows) for rows, _ in sorted(results[concurrency])),
        )
    speedup = min(seconds[1]) / min(seconds[2])
    ceilings = sorted(cpu_speedup() for _ in range(3))
    ceiling = ceilings[1]
    report.add(
        "ускорение счёта на Python, 2 процесса (потолок машины; медиана, разброс)",
        f"{ceiling:.2f} × ({ceilings[0]:.2f}–{ceilings[2]:.2f})",
    )
    report.add("ускорение воркеров / потолок машины", speedup / ceiling, "×")
    report.add("ядер CPU на машине", os.cpu_count() or 0)
    report.add("ускорение 2 воркеров", speedup, "×", goal="≥ 1.5", ok=speedup >= 1.5)
    same = len(results[1] | results[2]) == 1
    report.add(
        "одинаковый результат (1 и 2 воркера, все прогоны)",
        "да" if same else "нет",
        goal="да",
        ok=same,
    )


def main(argv: list[str]) -> int:
    return run_main("workers", __doc__, argv, body)

"""Benchmarks at region scale: `python -m bench NAME [ARGS]` runs `bench/NAME.py`'s `main(argv)`.

They use the configured database (`DATABASE_URL`), so point it at a scratch PostgreSQL base.
"""

import os
import time
from contextlib import contextmanager


def setup_django() -> None:
    """Configure Django from the environment, as manage.py does, unless it already is."""
    from django.conf import settings

    if settings.configured:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A benchmark serves no one: a throwaway key is enough when none is set.
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    import django

    django.setup()


@contextmanager
def timed():
    """`with timed() as t: ...` then `t()` is the seconds spent inside (or so far)."""
    started = time.perf_counter()
    finished = None

    def elapsed() -> float:
        return (finished or time.perf_counter()) - started

    try:
        yield elapsed
    finally:
        finished = time.perf_counter()

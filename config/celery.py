"""The Celery application and its beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("epos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # F29: the 00:00 jobs in each college's own time. Beat wakes at the top of every hour and
    # the fan-out picks the colleges whose clock shows 00 (Europe/Moscow for most of them).
    "nightly-fanout": {"task": "epos_chats.tasks.nightly_fanout", "schedule": crontab(minute=0)},
    # B3, issue 9: the region's «Мониторинг» reads per-college summaries; keep them ≤ 10 min old.
    "reports-refresh-summaries": {
        "task": "reports.tasks.refresh_region_summaries",
        "schedule": crontab(minute="*/10"),
    },
}

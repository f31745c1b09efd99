"""The Celery application; the beat schedule grows with the nightly jobs."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("epos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

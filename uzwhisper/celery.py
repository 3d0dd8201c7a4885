"""The Celery application: `celery -A uzwhisper worker -Q asr`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")

app = Celery("uzwhisper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

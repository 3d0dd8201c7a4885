"""The Celery application: `celery -A uzwhisper worker -Q asr`."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, worker_init

from uzwhisper.local_dirs import make_broker_folders

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")

app = Celery("uzwhisper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def make_broker_folders_for_worker(sender: Any, **kwargs: Any) -> None:
    """A worker on the file broker reads its folders as soon as it consumes."""
    make_broker_folders(sender.app.conf.broker_url, sender.app.conf.broker_transport_options)


@before_task_publish.connect
def make_broker_folders_for_producer(**kwargs: Any) -> None:
    """A process that queues a task (the web process, beat, a worker) on the file broker writes
    into its folders; made here, they exist even when no worker has run on this VAR_DIR yet."""
    make_broker_folders(app.conf.broker_url, app.conf.broker_transport_options)

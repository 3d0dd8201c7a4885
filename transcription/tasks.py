"""Celery tasks: thin wrappers that take ids and call one service."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_ready
from django import db
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .services import jobs, runs

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    soft_time_limit=settings.TRANSCRIBE_TIME_LIMIT_SECONDS,
    time_limit=settings.TRANSCRIBE_TIME_LIMIT_SECONDS + 60,
)
def transcribe_job(self: Task, job_id: str) -> None:
    try:
        runs.job_transcribe(job_id=job_id)
    except runs.JobBusy as busy:
        # Redelivered while the lease of the worker that died is still fresh: come back later.
        raise self.retry(countdown=busy.retry_in, max_retries=None) from busy
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries >= self.max_retries:
            jobs.job_mark_failed(job_id=job_id, code="database_unavailable", message=str(exc))
            return
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except SoftTimeLimitExceeded:
        jobs.job_mark_failed(
            job_id=job_id,
            code="time_limit",
            message="Transcription took longer than the configured time limit.",
        )
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        jobs.job_mark_failed(
            job_id=job_id,
            code="internal_error",
            message=f"Transcription failed: {exc.__class__.__name__}: {exc}",
        )


def _preload_model(consumer_queues: dict[str, Any] | None) -> None:
    from . import serving

    queues = {q.name for q in consumer_queues.values()} if consumer_queues else set()
    if settings.CELERY_ASR_QUEUE not in queues:
        return  # only workers that consume the ASR queue hold a model
    try:
        serving.serving_model()
    except Exception:
        logger.exception("Could not preload the Whisper model; the first job will try again")
    finally:
        # The registry was read outside any task: give the connection back to the pool.
        db.connections.close_all()


@worker_process_init.connect
def load_model_in_pool_process(**kwargs: Any) -> None:
    """Load Whisper when a prefork pool process starts, so the first job does not pay for it."""
    from celery import current_app

    _preload_model(current_app.amqp.queues.consume_from)


@worker_ready.connect
def on_worker_ready(sender: Any, **kwargs: Any) -> None:
    """Preload the model in a solo worker (tasks run in the main process, where
    worker_process_init never fires), and take back jobs a dead worker left running."""
    if "solo" in type(sender.controller.pool).__module__:
        _preload_model(sender.app.amqp.queues.consume_from)
    requeue_stale_jobs.delay()


@shared_task(ignore_result=True)
def requeue_stale_jobs() -> None:
    jobs.jobs_requeue_stale()

"""Celery tasks of the training app, on the `train` queue (settings.CELERY_TRAIN_QUEUE): thin
wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings

from .finetune import execution, services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.TRAIN_TIME_LIMIT_SECONDS,
    time_limit=settings.TRAIN_TIME_LIMIT_SECONDS + 300,
)
def finetune_run(self: Task, run_id: str) -> None:
    """Claimed with a conditional UPDATE, so a second delivery (or one after the worker died)
    never trains the run twice; any unexpected error marks it failed with the reason."""
    try:
        execution.finetune_run_execute(run_id=run_id)
    except execution.RunBusy as busy:
        # Delivered again while the run's heartbeat is fresh: its worker may be alive, or may
        # have just died. Look again once the heartbeat would have lapsed.
        raise self.retry(countdown=busy.retry_in, max_retries=None) from busy
    except Exception as exc:
        logger.exception("Fine-tune run %s failed", run_id)
        services.finetune_run_mark_failed(
            run_id=run_id,
            code="internal_error",
            message=f"The run failed: {type(exc).__name__}: {exc}",
        )

"""Celery tasks of the training app, on the `train` queue (settings.CELERY_TRAIN_QUEUE): thin
wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from .finetune import services

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.TRAIN_TIME_LIMIT_SECONDS,
    time_limit=settings.TRAIN_TIME_LIMIT_SECONDS + 300,
)
def finetune_run(run_id: str) -> None:
    """Claimed with a conditional UPDATE, so a second delivery (or one after the worker died)
    never trains the run twice; any unexpected error marks it failed with the reason."""
    try:
        services.finetune_run_execute(run_id=run_id)
    except Exception as exc:
        logger.exception("Fine-tune run %s failed", run_id)
        services.finetune_run_mark_failed(
            run_id=run_id,
            code="internal_error",
            message=f"The run failed: {type(exc).__name__}: {exc}",
        )

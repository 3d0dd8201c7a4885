"""Celery tasks of the collection app: thin wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from .clip_checks import Refusal
from .model_checks import clip_run_checks
from .services import clip_refuse

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5, soft_time_limit=300, time_limit=360)
def check_clip(self: Task, clip_id: str) -> None:
    """The model checks of one clip (on the ASR queue: it decodes with Whisper)."""
    try:
        clip_run_checks(clip_id=clip_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries >= self.max_retries:
            clip_refuse(clip_id=clip_id, refusal=_unavailable(exc))
            return
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except Exception as exc:
        # The volunteer waits for a verdict: give one rather than leave the clip in `checking`.
        logger.exception("The checks of clip %s failed", clip_id)
        clip_refuse(clip_id=clip_id, refusal=_unavailable(exc))


def _unavailable(exc: BaseException) -> Refusal:
    return Refusal(
        "checks_failed",
        f"The recording could not be checked ({exc.__class__.__name__}). Record it again.",
    )

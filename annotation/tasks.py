"""Celery tasks of annotation, on the default queue (no model needed)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def compute_task_peaks(task_id: str) -> None:
    """Idempotent: a task that has its peaks is left alone (see task_compute_peaks)."""
    from .services import task_compute_peaks

    task_compute_peaks(task_id=task_id)

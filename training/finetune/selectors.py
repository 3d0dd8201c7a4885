"""Reads for fine-tune runs: lists, the permission-checked fetch, and the payload pages and the
WebSocket share. Imports nothing heavy (the web process uses it)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from rest_framework import status

from uzwhisper.errors import ApplicationError

from ..models import FineTuneRun
from ..selectors import can_view_evaluations


def run_group(run_id: uuid.UUID | str) -> str:
    return f"finetune-{run_id}"


def finetune_run_list() -> QuerySet[FineTuneRun]:
    return (
        FineTuneRun.objects.select_related("base_version", "registered_version")
        .defer("log_tail", "metrics", "scores")
        .order_by("-created_at")
    )


def finetune_run_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, run_id: uuid.UUID | str
) -> FineTuneRun:
    """The run if `user` is staff; the same 404 when it is missing or they may not see it."""
    try:
        run_uuid = uuid.UUID(str(run_id))
    except ValueError:
        run_uuid = None
    run = (
        FineTuneRun.objects.select_related("base_version", "registered_version")
        .filter(id=run_uuid)
        .first()
        if run_uuid is not None and can_view_evaluations(user)
        else None
    )
    if run is None:
        raise ApplicationError(
            "finetune_run_not_found",
            "No such fine-tune run.",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return run


def finetune_run_payload(run: FineTuneRun) -> dict[str, Any]:
    """What the run page shows and the WebSocket snapshot sends."""
    return {
        "id": str(run.id),
        "name": run.name,
        "status": run.status,
        "step": run.step,
        "max_steps": run.max_steps,
        "error": run.error_message,
        "cancel_requested": run.cancel_requested,
        "metrics": run.metrics,
        "log_tail": run.log_tail[-4000:],
        "finished": run.status in FineTuneRun.FINISHED_STATUSES,
    }

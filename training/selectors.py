"""Reads for the training app. Pages fetch evaluation runs through these, never `.get()`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError

from .models import EvaluationItem, EvaluationRun
from .reports import safe_file_name

# A running run whose process has shown no progress for this long has lost it (killed, or the
# machine stopped): pages show it as interrupted and the next `evaluate` marks it stopped. A live
# run reports after each Whisper segment (seconds apart: see `services.HEARTBEAT_EVERY_SECONDS`),
# so this is far beyond any pause of a working one.
EVALUATION_STALE_AFTER = timedelta(minutes=10)


def _stale(now: datetime | None = None) -> Q:
    cutoff = (now or timezone.now()) - EVALUATION_STALE_AFTER
    return Q(status=EvaluationRun.Status.RUNNING, heartbeat_at__lt=cutoff)


def _with_staleness(runs: QuerySet[EvaluationRun]) -> QuerySet[EvaluationRun]:
    """`is_stale` on each run: running in the database, but its process is gone."""
    return runs.annotate(is_stale=ExpressionWrapper(_stale(), output_field=BooleanField()))


def evaluation_runs_stale(*, now: datetime | None = None) -> QuerySet[EvaluationRun]:
    """Runs still `running` whose process stopped showing progress `EVALUATION_STALE_AFTER` ago."""
    return EvaluationRun.objects.filter(_stale(now)).order_by("created_at")


def can_view_evaluations(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Evaluation results are for staff: they show the references of held-out data."""
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def evaluation_run_list() -> QuerySet[EvaluationRun]:
    """Runs, newest first, with `is_stale`, without the stored report text the list does not
    show."""
    return _with_staleness(EvaluationRun.objects.defer("report_markdown")).order_by("-created_at")


def evaluation_run_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, run_id: uuid.UUID | str
) -> EvaluationRun:
    """The run (with `is_stale`) if `user` may see evaluations; the same 404 when it is missing
    or they may not."""
    try:
        run_uuid = uuid.UUID(str(run_id))
    except ValueError:
        run_uuid = None
    run = (
        _with_staleness(EvaluationRun.objects.filter(id=run_uuid)).first()
        if run_uuid and can_view_evaluations(user)
        else None
    )
    if run is None:
        raise ApplicationError(
            "evaluation_run_not_found",
            "No such evaluation run.",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return run


def evaluation_item_list(*, run: EvaluationRun) -> QuerySet[EvaluationItem]:
    return EvaluationItem.objects.filter(run=run).order_by("index")


def evaluation_item_payload(item: EvaluationItem) -> dict[str, Any]:
    return {
        "index": item.index,
        "line": item.line,
        "audio": item.audio,
        "duration_s": item.duration_s,
        "language": item.language,
        "language_requested": item.language_requested,
        "language_decoded": item.language_decoded,
        "dialect": item.dialect,
        "speaker": item.speaker,
        "source": item.source,
        "code_switched": item.code_switched,
        "reference": item.reference,
        "hypothesis": item.hypothesis,
        "reference_normalised": item.reference_normalised,
        "hypothesis_normalised": item.hypothesis_normalised,
        "ref_words": item.ref_words,
        "substitutions": item.substitutions,
        "deletions": item.deletions,
        "insertions": item.insertions,
        "ref_chars": item.ref_chars,
        "char_errors": item.char_errors,
        "wer": item.wer,
        "cer": item.cer,
        "processing_seconds": item.processing_seconds,
    }


def evaluation_run_file_stem(run: EvaluationRun) -> str:
    """The stem of the run's report files: its name, when it started, and its id's start."""
    return f"{safe_file_name(run.name)}-{run.created_at:%Y%m%d-%H%M%S}-{run.id.hex[:8]}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def evaluation_run_result(run: EvaluationRun) -> dict[str, Any]:
    """The whole run as one JSON-ready dictionary: what the JSON file holds, what the Markdown
    report and the web page are drawn from."""
    overall = next((s for s in run.slices if s.get("dimension") == "overall"), None)
    rtf = run.processing_seconds / run.audio_seconds if run.audio_seconds else None
    return {
        "run_id": str(run.id),
        "name": run.name,
        "status": run.status,
        "error": run.error_message,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "manifest": run.manifest_name,
        "manifest_path": run.manifest_path,
        "model": {"path": run.model_path, "id": run.model_id, "checksum": run.model_checksum},
        "language_mode": run.language_mode,
        "beam_size": run.beam_size,
        "utterances": run.utterances,
        "wer": run.wer,
        "cer": run.cer,
        "overall": overall or {"wer": run.wer, "cer": run.cer},
        "slices": run.slices,
        "skipped": run.skipped,
        "audio_seconds": run.audio_seconds,
        "processing_seconds": run.processing_seconds,
        "real_time_factor": rtf,
        "items": [evaluation_item_payload(i) for i in evaluation_item_list(run=run)],
    }

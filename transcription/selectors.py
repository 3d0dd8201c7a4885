"""Reads for the transcription app. Views and consumers fetch through these, never `.get()`."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from rest_framework import status

from uzwhisper.errors import ApplicationError

from .models import Job, ModelVersion, ModelVersionEvent, Segment, Word


def job_group(job_id: uuid.UUID | str) -> str:
    return f"job-{job_id}"


def job_list(
    *,
    user: User,
    status: str | None = None,
    source: str | None = None,
    search: str | None = None,
    with_preview: bool = False,
) -> QuerySet[Job]:
    """The user's jobs, newest first. `with_preview` fetches the first segments of each job in one
    query for `Job.transcript_preview` (a page of the job list), never a query per job."""
    jobs = Job.objects.filter(owner=user)
    if status:
        jobs = jobs.filter(status=status)
    if source:
        jobs = jobs.filter(source=source)
    if search:
        # EXISTS rather than a join: no duplicate rows to remove with DISTINCT.
        text_matches = Segment.objects.filter(job=OuterRef("pk"), text__icontains=search)
        jobs = jobs.filter(Q(original_name__icontains=search) | Exists(text_matches))
    if with_preview:
        jobs = jobs.prefetch_related(
            Prefetch(
                "segments",
                queryset=Segment.objects.order_by("index").only(
                    "id", "job_id", "index", "text", "untranscribed"
                )[: Job.PREVIEW_SEGMENTS],
                to_attr="preview_segments",
            )
        )
    return jobs.order_by("-created_at")


def job_get_for_user(*, user: User, job_id: uuid.UUID | str) -> Job:
    """The job if `user` owns it; the same 404 whether it is missing or someone else's."""
    try:
        job_uuid = uuid.UUID(str(job_id))
    except ValueError:
        job_uuid = None
    job = Job.objects.filter(id=job_uuid, owner=user).first() if job_uuid else None
    if job is None:
        raise ApplicationError(
            "job_not_found", "No such job.", status_code=status.HTTP_404_NOT_FOUND
        )
    return job


def job_segments(*, job: Job) -> QuerySet[Segment]:
    return job.segments.order_by("index").prefetch_related(
        Prefetch("words", queryset=Word.objects.order_by("index"))
    )


def job_status_payload(*, job: Job) -> dict:
    """The small status dict that pages and WebSocket clients show."""
    return {
        "id": str(job.id),
        "status": job.status,
        "progress": round(job.progress, 4),
        "language": job.language_detected,
        "language_probability": job.language_probability,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "duration_s": job.duration_s,
        "processing_s": job.processing_s,
        "real_time_factor": job.real_time_factor,
        "model_id": job.model_id,
        "code_mixing_index": job.code_mixing_index,
        "switch_points": job.switch_points,
    }


def jobs_done(*, job_ids: list[uuid.UUID]) -> QuerySet[Job]:
    """Finished, successful jobs among `job_ids`, whoever owns them (for admins' tools, such as
    making annotation tasks)."""
    return Job.objects.filter(id__in=job_ids, status=Job.Status.DONE).order_by("created_at")


# --- model registry -----------------------------------------------------------------------


def model_version_production() -> ModelVersion | None:
    """The version workers should serve (None while the registry is empty)."""
    return ModelVersion.objects.filter(status=ModelVersion.Status.PRODUCTION).first()


def model_version_list() -> QuerySet[ModelVersion]:
    """Versions, newest first, with their base and what they replaced."""
    return ModelVersion.objects.select_related("base", "previous").order_by("-created_at")


def model_version_get(*, version_id: uuid.UUID | str) -> ModelVersion:
    try:
        version_uuid = uuid.UUID(str(version_id))
    except ValueError:
        version_uuid = None
    version = (
        model_version_list().filter(id=version_uuid).first() if version_uuid is not None else None
    )
    if version is None:
        raise ApplicationError(
            "model_version_not_found",
            "No such model version.",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return version


def model_version_events(*, version: ModelVersion) -> QuerySet[ModelVersionEvent]:
    return ModelVersionEvent.objects.filter(version=version).order_by("-created_at", "-id")


def _slice_key(row: dict[str, Any]) -> str:
    return f"{row.get('dimension', '')}={row.get('value', '')}"


def model_version_compare(*, left: ModelVersion, right: ModelVersion) -> dict[str, Any]:
    """Two versions side by side from their stored evaluations: WER and CER per slice (with the
    change from left to right), and the clips both were scored on whose WER differs, worst
    regression first. A version a run registered also holds its base's scores on the same
    evaluation set (`evaluation["base"]`): comparing it with its base uses those."""
    left_evaluation = left.evaluation
    if right.base_id == left.id and right.evaluation.get("base"):
        left_evaluation = right.evaluation["base"]
    left_slices = {_slice_key(s): s for s in left_evaluation.get("slices", [])}
    right_slices = {_slice_key(s): s for s in right.evaluation.get("slices", [])}
    slices = []
    for key in list(left_slices) + [k for k in right_slices if k not in left_slices]:
        a, b = left_slices.get(key, {}), right_slices.get(key, {})
        wer_a, wer_b = a.get("wer"), b.get("wer")
        slices.append(
            {
                "slice": key,
                "left_wer": wer_a,
                "right_wer": wer_b,
                "left_cer": a.get("cer"),
                "right_cer": b.get("cer"),
                "delta_wer": None if wer_a is None or wer_b is None else wer_b - wer_a,
            }
        )
    left_clips = {c["audio"]: c for c in left_evaluation.get("clips", [])}
    clips = []
    for clip in right.evaluation.get("clips", []):
        before = left_clips.get(clip["audio"])
        if before is None or before.get("hypothesis") == clip.get("hypothesis"):
            continue
        clips.append(
            {
                "audio": clip["audio"],
                "language": clip.get("language", ""),
                "reference": clip.get("reference", ""),
                "left_hypothesis": before.get("hypothesis", ""),
                "right_hypothesis": clip.get("hypothesis", ""),
                "left_wer": before.get("wer"),
                "right_wer": clip.get("wer"),
                "delta_wer": clip.get("wer", 0.0) - before.get("wer", 0.0),
            }
        )
    clips.sort(key=lambda c: -c["delta_wer"])
    return {"left": left.name, "right": right.name, "slices": slices, "clips": clips}

"""Reads for the transcription app. Views and consumers fetch through these, never `.get()`."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from rest_framework import status

from uzwhisper.errors import ApplicationError

from .models import Job, Segment, Word


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
                queryset=Segment.objects.order_by("index").only("id", "job_id", "index", "text")[
                    : Job.PREVIEW_SEGMENTS
                ],
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

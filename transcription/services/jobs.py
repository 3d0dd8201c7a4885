"""Job lifecycle: create (validate and store the audio), enqueue, cancel, delete, mark failed,
queue again the jobs whose worker died. What the web process calls; it never loads the model."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.events import broadcast_on_commit
from uzwhisper.lib.audio import AudioError, inspect_audio
from uzwhisper.lib.units import format_mib

from ..models import Job
from ..selectors import job_group, job_status_payload

logger = logging.getLogger(__name__)

# The worker's task, by name: the web process queues it without importing the worker's code
# (which would reach the ASR core).
TRANSCRIBE_TASK = "transcription.tasks.transcribe_job"


@contextlib.contextmanager
def _local_upload_copy(upload: UploadedFile) -> Iterator[tuple[Path, str]]:
    """A path on disk holding the upload, and its SHA-256. Temporary copies are removed."""
    digest = hashlib.sha256()
    suffix = Path(upload.name or "").suffix[:10]
    handle, name = tempfile.mkstemp(prefix="upload-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in upload.chunks():
                digest.update(chunk)
                out.write(chunk)
        yield Path(name), digest.hexdigest()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def check_upload_size(size: int | None) -> None:
    if size is not None and size > settings.MAX_UPLOAD_BYTES:
        raise ApplicationError(
            "file_too_large",
            f"The file is {format_mib(size)}; the limit is "
            f"{format_mib(settings.MAX_UPLOAD_BYTES)}.",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


@contextlib.contextmanager
def job_inserted_with_audio(job: Job, *, audio_path: Path) -> Iterator[Job]:
    """Store `audio_path` as the new job's audio, then insert the row; the body runs in the
    same transaction (the transcript, the enqueue on commit). If anything fails, the stored
    audio is deleted again: nothing is left half-stored."""
    with audio_path.open("rb") as handle:
        job.audio.save(job.original_name, File(handle), save=False)
    try:
        with transaction.atomic():
            job.full_clean()
            job.save(force_insert=True)
            yield job
    except Exception:
        job.audio.delete(save=False)
        raise


def job_create(
    *,
    owner: User,
    audio: UploadedFile,
    language: str = Job.Language.AUTO,
    beam_size: int | None = None,
    vad_filter: bool = True,
    word_timestamps: bool = True,
    initial_prompt: str = "",
    source: str = Job.Source.UPLOAD,
) -> Job:
    """Validate the audio, store it and queue a job. `source` names the entry point (upload page,
    REST API, OpenAI-compatible API). Bad audio raises ApplicationError and leaves neither a row
    nor a file behind."""
    check_upload_size(audio.size)
    with _local_upload_copy(audio) as (path, sha256):
        try:
            info = inspect_audio(path, max_seconds=settings.MAX_AUDIO_SECONDS)
        except AudioError as exc:
            code: int = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            if exc.code != "audio_too_long":
                code = status.HTTP_422_UNPROCESSABLE_ENTITY
            raise ApplicationError(exc.code, exc.message, status_code=code) from exc

        job = Job(
            id=uuid.uuid4(),
            owner=owner,
            created_at=timezone.now(),
            source=source,
            original_name=(audio.name or "audio")[:255],
            sha256=sha256,
            size_bytes=audio.size or path.stat().st_size,
            duration_s=info.duration_s,
            codec=info.codec,
            language_requested=language,
            beam_size=beam_size or settings.WHISPER_DEFAULT_BEAM_SIZE,
            vad_filter=vad_filter,
            word_timestamps=word_timestamps,
            initial_prompt=initial_prompt,
        )
        with job_inserted_with_audio(job, audio_path=path):
            transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    return job


def job_enqueue(*, job_id: uuid.UUID) -> None:
    """Hand the job to a worker. If the broker is down the job fails visibly instead of waiting
    forever in `queued`."""
    from uzwhisper.celery import app

    try:
        app.send_task(TRANSCRIBE_TASK, args=[str(job_id)])
    except Exception as exc:
        logger.exception("Could not queue job %s", job_id)
        job_mark_failed(
            job_id=job_id,
            code="queue_unavailable",
            message=f"The job could not be queued: {exc.__class__.__name__}. Try again later.",
        )


def job_publish_status(job_id: uuid.UUID | str) -> None:
    """Tell the job's page and API clients its status, once the transaction commits."""
    job = Job.objects.filter(id=job_id).first()
    if job is not None:
        broadcast_on_commit(job_group(job.id), "job.status", job_status_payload(job=job))


@transaction.atomic
def job_mark_failed(*, job_id: uuid.UUID | str, code: str, message: str) -> None:
    """The one way a job ends in failure. A finished or vanished job is left alone."""
    updated = (
        Job.objects.filter(id=job_id)
        .exclude(status__in=Job.FINISHED_STATUSES)
        .update(
            status=Job.Status.FAILED,
            error_code=code,
            error_message=message[:2000],
            finished_at=timezone.now(),
        )
    )
    if updated:
        job_publish_status(job_id)


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    """Cancel a queued or running job; a running one stops after its current segment."""
    updated = Job.objects.filter(
        id=job.id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).update(status=Job.Status.CANCELLED, finished_at=timezone.now())
    if not updated:
        job.refresh_from_db()
        raise ApplicationError(
            "job_not_cancellable",
            f"The job is {job.status} and can no longer be cancelled.",
            status_code=status.HTTP_409_CONFLICT,
        )
    job_publish_status(job.id)
    job.refresh_from_db()
    return job


def job_delete(*, job: Job) -> None:
    """Delete the job, its transcript and its audio file. A running job is cancelled first."""
    with transaction.atomic():
        Job.objects.filter(id=job.id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.CANCELLED, finished_at=timezone.now()
        )
        audio_name = job.audio.name
        storage = job.audio.storage
        job.delete()
        transaction.on_commit(lambda: storage.delete(audio_name) if audio_name else None)


def jobs_requeue_stale() -> list[uuid.UUID]:
    """Queue again every running job whose worker has gone silent past its lease. Brokers that
    redeliver (Redis, RabbitMQ) do this themselves; the file broker of the embedded default does
    not. Harmless when a delivery is already on its way: the claim lets only one run."""
    lapsed = timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS)
    stale = list(
        Job.objects.filter(status=Job.Status.RUNNING)
        .filter(Q(heartbeat_at__lt=lapsed) | Q(heartbeat_at__isnull=True))
        .values_list("id", flat=True)
    )
    for job_id in stale:
        logger.warning("Job %s lost its worker; queueing it again", job_id)
        job_enqueue(job_id=job_id)
    return stale

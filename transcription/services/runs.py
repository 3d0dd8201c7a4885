"""A worker's run of a job: claim it, keep its lease alive, decode, store segments in batches."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from uzwhisper.events import broadcast_many_on_commit
from uzwhisper.lib.audio import decode_to_array
from uzwhisper.storage import local_audio_path

from ..models import Job, Segment
from ..payloads import segment_payload
from ..selectors import job_group
from ..serving import serving_model
from .jobs import job_mark_failed, job_publish_status
from .transcripts import transcript_create, transcript_language_units, transcript_switches

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class JobBusy(Exception):
    """Another worker holds a live lease on the job; try again after `retry_in` seconds."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"job is running elsewhere; retry in {retry_in:.0f} s")
        self.retry_in = retry_in


def job_claim(*, job_id: uuid.UUID | str) -> Job | None:
    """Take the job for this worker with a conditional UPDATE, so a second delivery of the same
    task does nothing. A running job whose lease lapsed (its worker died) is taken over.
    Returns None when there is nothing to do (finished, cancelled or vanished)."""
    now = timezone.now()
    lapsed = now - timedelta(seconds=settings.JOB_LEASE_SECONDS)
    claimed = (
        Job.objects.filter(id=job_id)
        .filter(
            Q(status=Job.Status.QUEUED)
            | Q(status=Job.Status.RUNNING, heartbeat_at__lt=lapsed)
            | Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True)
        )
        .update(
            status=Job.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            attempts=F("attempts") + 1,
        )
    )
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        logger.warning("Job %s vanished before it ran", job_id)
        return None
    if not claimed:
        if job.status == Job.Status.RUNNING and job.heartbeat_at:
            retry_in = (job.heartbeat_at - lapsed).total_seconds()
            raise JobBusy(retry_in=max(1.0, retry_in))
        return None
    if job.attempts > MAX_ATTEMPTS:
        job_mark_failed(
            job_id=job.id,
            code="worker_lost",
            message=f"The worker stopped {MAX_ATTEMPTS} times on this file.",
        )
        return None
    # A previous attempt may have written part of the transcript before its worker died.
    Segment.objects.filter(job=job).delete()
    job_publish_status(job.id)
    return job


@contextlib.contextmanager
def _heartbeat(job_id: uuid.UUID) -> Iterator[None]:
    """Keep the job's lease alive from a thread while the model decodes."""
    stop = threading.Event()
    interval = max(1.0, settings.JOB_LEASE_SECONDS / 3)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                Job.objects.filter(id=job_id, status=Job.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass(frozen=True)
class RunResult:
    status: str
    segments: int


def job_transcribe(*, job_id: uuid.UUID | str) -> RunResult | None:
    """Claim and transcribe the job, storing segments as they are decoded (in batches of at most
    `SEGMENT_FLUSH_SECONDS`). A cancelled job stops at the next batch and keeps what was stored
    before. Safe to call again for the same job."""
    from uzwhisper.asr import engine

    job = job_claim(job_id=job_id)
    if job is None:
        return None
    started = time.perf_counter()
    # The registry's production version: a promotion since the last job loads here.
    model = serving_model()
    Job.objects.filter(id=job.id).update(model_id=model.model_id)

    with local_audio_path(job.audio) as path:
        audio = decode_to_array(path)
    options = engine.TranscribeOptions(
        language=job.language_requested,
        beam_size=job.beam_size,
        vad_filter=job.vad_filter,
        word_timestamps=job.word_timestamps,
        initial_prompt=job.initial_prompt,
    )
    written = 0
    pending: list = []
    with _heartbeat(job.id):
        result = engine.transcribe(model, audio, options)
        Job.objects.filter(id=job.id, status=Job.Status.RUNNING).update(
            language_detected=result.language,
            language_probability=result.language_probability,
        )
        job_publish_status(job.id)
        duration = max(result.duration, 1e-6)
        last_flush = time.monotonic()
        for segment_result in result.segments:
            pending.append(segment_result)
            if time.monotonic() - last_flush < settings.SEGMENT_FLUSH_SECONDS:
                continue
            if not _segments_store(
                job_id=job.id, first_index=written, results=pending, duration=duration
            ):
                logger.info("Job %s was cancelled after %d segments", job.id, written)
                return RunResult(status=Job.Status.CANCELLED, segments=written)
            written += len(pending)
            pending = []
            last_flush = time.monotonic()
    if pending and not _segments_store(
        job_id=job.id, first_index=written, results=pending, duration=duration
    ):
        return RunResult(status=Job.Status.CANCELLED, segments=written)
    written += len(pending)
    processing_s = time.perf_counter() - started
    stored = Segment.objects.filter(job_id=job.id).order_by("index").prefetch_related("words")
    mixing, switches = transcript_switches(
        transcript_language_units(
            [
                (
                    segment.start,
                    segment.language,
                    [
                        (w.start, w.language)
                        for w in sorted(segment.words.all(), key=lambda word: word.index)
                    ],
                )
                for segment in stored
            ]
        )
    )
    with transaction.atomic():
        finished = Job.objects.filter(id=job.id, status=Job.Status.RUNNING).update(
            status=Job.Status.DONE,
            progress=1.0,
            code_mixing_index=mixing,
            switch_points=switches,
            finished_at=timezone.now(),
            processing_s=round(processing_s, 3),
            real_time_factor=round(processing_s / max(job.duration_s, 1e-6), 4),
        )
        job_publish_status(job.id)
    close_old_connections()
    return RunResult(status=Job.Status.DONE if finished else Job.Status.CANCELLED, segments=written)


@transaction.atomic
def _segments_store(*, job_id: uuid.UUID, first_index: int, results: list, duration: float) -> bool:
    """Store decoded segments with their words and the job's progress in one transaction.
    False when the job is no longer running (cancelled or deleted): they are then not kept."""
    progress = min(1.0, results[-1].end / duration)
    still_running = Job.objects.filter(id=job_id, status=Job.Status.RUNNING).update(
        progress=progress, heartbeat_at=timezone.now()
    )
    if not still_running:
        return False
    stored = transcript_create(job_id=job_id, first_index=first_index, pieces=results)
    events = []
    for (segment, words), result in zip(stored, results, strict=True):
        payload = segment_payload(segment, words)
        payload["progress"] = round(min(1.0, result.end / duration), 4)
        events.append(("job.segment", payload))
    broadcast_many_on_commit(job_group(job_id), events)
    return True

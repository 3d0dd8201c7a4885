"""Writes for the transcription app: creating, running, cancelling and deleting jobs."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.events import broadcast_many_on_commit, broadcast_on_commit
from uzwhisper.lib.audio import AudioError, decode_to_array, inspect_audio
from uzwhisper.lib.units import format_mib

from .models import Job, Segment, Word
from .selectors import job_group, job_status_payload, segment_payload
from .serving import engine_config

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


# --- creating ---


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


def job_create(
    *,
    owner: AbstractBaseUser,
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
            code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
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
        with path.open("rb") as handle:
            job.audio.save(job.original_name, File(handle), save=False)
    try:
        with transaction.atomic():
            job.full_clean()
            job.save(force_insert=True)
            transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    except Exception:
        job.audio.delete(save=False)
        raise
    return job


def job_enqueue(*, job_id: uuid.UUID) -> None:
    """Hand the job to a worker. If the broker is down the job fails visibly instead of waiting
    forever in `queued`."""
    from .tasks import transcribe_job

    try:
        transcribe_job.delay(str(job_id))
    except Exception as exc:
        logger.exception("Could not queue job %s", job_id)
        job_mark_failed(
            job_id=job_id,
            code="queue_unavailable",
            message=f"The job could not be queued: {exc.__class__.__name__}. Try again later.",
        )


# --- state changes ---


def _publish_status(job_id: uuid.UUID) -> None:
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
        _publish_status(job_id)


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
    _publish_status(job.id)
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


# --- code-switching ---


@dataclass(frozen=True)
class LanguageTags:
    tags: list[str]  # uz / ru / other, one per word
    code_mixing_index: float | None
    text_latin: str


def language_tags(words: list[str], *, text: str, language: str) -> LanguageTags:
    """Tag each word uz / ru / other and give the segment's text with its Uzbek in one Latin
    spelling (Cyrillic Uzbek transliterated, oʻ/gʻ written one way); Russian stays as it is."""
    from uzwhisper.lib.langid import code_mixing_index, tag_words
    from uzwhisper.lib.normalize import to_uzbek_latin

    if not words:
        latin = to_uzbek_latin(text) if language == "uz" else text
        return LanguageTags([], None, latin)
    tags = tag_words(words)
    latin = "".join(
        to_uzbek_latin(word) if tag == "uz" else word for word, tag in zip(words, tags, strict=True)
    ).strip()
    return LanguageTags(tags, round(code_mixing_index(tags), 2), latin)


def transcript_language_units(
    segments: list[tuple[float, str, list[tuple[float, str]]]],
) -> list[tuple[float, str]]:
    """(start, language) units in order for `transcript_switches`, from each segment's start,
    decoded language and (start, tag) words. A segment whose words carry no uz/ru tag (speech
    marked untranscribed, or text the tagger cannot place) still says which language was
    spoken there: it counts as one unit of its decoded language."""
    units: list[tuple[float, str]] = []
    for start, language, words in segments:
        if any(tag in ("uz", "ru") for _, tag in words):
            units.extend(words)
        elif language in ("uz", "ru"):
            units.append((start, language))
        else:
            units.extend(words)
    return units


def transcript_switches(words: list[tuple[float, str]]) -> tuple[float | None, list[dict]]:
    """The code-mixing index of a whole transcript and its switch points, from (start, tag)
    pairs in order."""
    from uzwhisper.lib.langid import code_mixing_index, switch_points

    if not words:
        return None, []
    tags = [tag for _, tag in words]
    points = []
    for index in switch_points(tags):
        before = next(t for t in reversed(tags[:index]) if t in ("uz", "ru"))
        points.append({"time": round(words[index][0], 3), "from": before, "to": tags[index]})
    return round(code_mixing_index(tags), 2), points


# --- running ---


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
    _publish_status(job.id)
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


@contextlib.contextmanager
def local_audio_path(audio: FieldFile) -> Iterator[Path]:
    """A local path for a stored file: the file itself on disk storage, else a temporary copy."""
    try:
        yield Path(audio.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(audio.name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with audio.open("rb") as source:
            shutil.copyfileobj(source, tmp)
        tmp.flush()
        yield Path(tmp.name)


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
    model = engine.get_model(engine_config())
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
        _publish_status(job.id)
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
                    [(w.start, w.language) for w in sorted(segment.words.all(), key=_index)],
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
        _publish_status(job.id)
    close_old_connections()
    return RunResult(status=Job.Status.DONE if finished else Job.Status.CANCELLED, segments=written)


def _index(word: Word) -> int:
    return word.index


def _transcript_create(
    *, job_id: uuid.UUID, first_index: int, pieces: list
) -> list[tuple[Segment, list[Word]]]:
    """Insert segments and their words, tagged by language. `pieces` have start, end, text,
    language and words (start, end, text, probability); avg_logprob and no_speech_prob when the
    decoder gave them (live decoding keeps words, not segment scores)."""
    annotations = [
        language_tags([w.text for w in piece.words], text=piece.text, language=piece.language)
        for piece in pieces
    ]
    segments = Segment.objects.bulk_create(
        Segment(
            job_id=job_id,
            index=first_index + offset,
            start=piece.start,
            end=piece.end,
            text=piece.text,
            text_latin=annotation.text_latin,
            language=piece.language,
            code_mixing_index=annotation.code_mixing_index,
            avg_logprob=getattr(piece, "avg_logprob", 0.0),
            no_speech_prob=getattr(piece, "no_speech_prob", 0.0),
            untranscribed=getattr(piece, "untranscribed", False),
        )
        for offset, (piece, annotation) in enumerate(zip(pieces, annotations, strict=True))
    )
    words_by_segment = [
        [
            Word(
                segment=segment,
                index=i,
                start=w.start,
                end=w.end,
                text=w.text[:255],
                probability=w.probability,
                language=annotation.tags[i],
            )
            for i, w in enumerate(piece.words)
        ]
        for segment, piece, annotation in zip(segments, pieces, annotations, strict=True)
    ]
    Word.objects.bulk_create(word for words in words_by_segment for word in words)
    return list(zip(segments, words_by_segment, strict=True))


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
    stored = _transcript_create(job_id=job_id, first_index=first_index, pieces=results)
    events = []
    for (segment, words), result in zip(stored, results, strict=True):
        payload = segment_payload(segment, words)
        payload["progress"] = round(min(1.0, result.end / duration), 4)
        events.append(("job.segment", payload))
    broadcast_many_on_commit(job_group(job_id), events)
    return True


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


# --- live streams ---


@dataclass(frozen=True)
class StreamSegment:
    start: float
    end: float
    text: str
    words: list  # objects with start, end, text, probability
    language: str = ""
    untranscribed: bool = False  # speech the model could not write: no text, no words


def stream_job_save(
    *,
    owner_id: int,
    wav_path: Path,
    language_requested: str,
    language: str,
    language_probability: float,
    initial_prompt: str,
    segments: list[StreamSegment],
    vad_filter: bool = True,
    model_id: str,
    processing_s: float,
    started_at,
) -> Job | None:
    """Store a finished live session as an ordinary, finished job (source live): its audio and
    its committed transcript. A session that received no audio leaves nothing."""
    try:
        info = inspect_audio(wav_path, max_seconds=settings.MAX_AUDIO_SECONDS * 4)
    except AudioError as exc:
        logger.info("Live session of user %s kept no job: %s", owner_id, exc.code)
        return None
    now = timezone.now()
    job = Job(
        id=uuid.uuid4(),
        owner_id=owner_id,
        created_at=started_at,
        source=Job.Source.LIVE,
        original_name=f"live-{started_at:%Y%m%d-%H%M%S}.wav",
        sha256=_sha256_of(wav_path),
        size_bytes=wav_path.stat().st_size,
        duration_s=info.duration_s,
        codec=info.codec,
        language_requested=language_requested,
        language_detected=language,
        language_probability=language_probability,
        initial_prompt=initial_prompt[:1000],
        vad_filter=vad_filter,
        status=Job.Status.DONE,
        progress=1.0,
        model_id=model_id,
        attempts=1,
        started_at=started_at,
        finished_at=now,
        processing_s=round(processing_s, 3),
        real_time_factor=round(processing_s / max(info.duration_s, 1e-6), 4),
    )
    with wav_path.open("rb") as handle:
        job.audio.save(job.original_name, File(handle), save=False)
    try:
        with transaction.atomic():
            job.full_clean()
            job.save(force_insert=True)
            stored = _transcript_create(job_id=job.id, first_index=0, pieces=segments)
            job.code_mixing_index, job.switch_points = transcript_switches(
                transcript_language_units(
                    [
                        (segment.start, segment.language, [(w.start, w.language) for w in words])
                        for segment, words in stored
                    ]
                )
            )
            job.save(update_fields=["code_mixing_index", "switch_points"])
    except Exception:
        job.audio.delete(save=False)
        raise
    return job


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()

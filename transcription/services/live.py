"""Live sessions saved as ordinary, finished jobs."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from uzwhisper.lib.audio import AudioError, inspect_audio

from ..models import Job
from .jobs import job_inserted_with_audio
from .transcripts import (
    LanguageTags,
    transcript_create,
    transcript_language_units,
    transcript_switches,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSegment:
    start: float
    end: float
    text: str
    words: list  # objects with start, end, text, probability
    language: str = ""
    untranscribed: bool = False  # speech the model could not write: no text, no words
    # The words' language tags when the stream already computed them (for its `final`).
    tags: LanguageTags | None = None


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
    started_at: datetime,
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
    with job_inserted_with_audio(job, audio_path=wav_path):
        stored = transcript_create(job_id=job.id, first_index=0, pieces=segments)
        job.code_mixing_index, job.switch_points = transcript_switches(
            transcript_language_units(
                [
                    (segment.start, segment.language, [(w.start, w.language) for w in words])
                    for segment, words in stored
                ]
            )
        )
        job.save(update_fields=["code_mixing_index", "switch_points"])
    return job


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()

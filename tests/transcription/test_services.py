"""Services called directly, without a worker or a model."""

from __future__ import annotations

import shutil

import pytest
from django.utils import timezone

from transcription.models import Job
from transcription.services import StreamSegment, stream_job_save
from uzwhisper.asr.streaming import TimedWord

pytestmark = pytest.mark.django_db


def test_a_saved_live_session_is_a_live_job_with_its_options(user, ru_clip, tmp_path):
    wav = tmp_path / "session.wav"
    shutil.copy(ru_clip.path, wav)
    words = [TimedWord(0.0, 0.8, " Подключение", 0.93), TimedWord(0.8, 1.2, " к", 0.9)]

    job = stream_job_save(
        owner_id=user.pk,
        wav_path=wav,
        language_requested="ru",
        language="ru",
        language_probability=0.98,
        initial_prompt="Астериск",
        segments=[StreamSegment(0.0, 1.2, "Подключение к", words, "ru")],
        vad_filter=False,
        model_id="whisper-base@test",
        processing_s=1.5,
        started_at=timezone.now(),
    )

    job.refresh_from_db()
    assert job.source == Job.Source.LIVE
    assert job.status == Job.Status.DONE
    assert (job.language_requested, job.vad_filter, job.initial_prompt) == ("ru", False, "Астериск")
    assert job.transcript_preview == "Подключение к"

"""Services called directly, without a worker or a model."""

from __future__ import annotations

import shutil

import pytest
from django.utils import timezone

from transcription.models import Job
from transcription.services import transcripts
from transcription.services.live import StreamSegment, stream_job_save
from transcription.services.transcripts import LanguageTags
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


def test_a_live_stretch_the_model_could_not_write_is_saved_marked(user, ru_clip, tmp_path):
    wav = tmp_path / "session.wav"
    shutil.copy(ru_clip.path, wav)
    words = [TimedWord(5.2, 5.6, " Извините", 0.9, "ru")]

    job = stream_job_save(
        owner_id=user.pk,
        wav_path=wav,
        language_requested="mixed",
        language="uz",
        language_probability=0.8,
        initial_prompt="",
        segments=[
            StreamSegment(0.5, 4.7, "", [], "uz", untranscribed=True),
            StreamSegment(5.2, 5.6, "Извините", words, "ru"),
        ],
        vad_filter=True,
        model_id="whisper-base@test",
        processing_s=1.5,
        started_at=timezone.now(),
    )

    marked, russian = job.segments.order_by("index")
    assert (marked.untranscribed, marked.text, marked.language) == (True, "", "uz")
    assert not marked.words.exists()
    assert (russian.untranscribed, russian.text) == (False, "Извините")
    # The switch follows the marked Uzbek stretch into the Russian.
    assert job.switch_points == [{"time": 5.2, "from": "uz", "to": "ru"}]
    assert job.code_mixing_index > 0


def test_live_words_are_saved_with_the_tags_their_final_carried_not_tagged_again(
    user, ru_clip, tmp_path, monkeypatch
):
    def tag_again(*args, **kwargs):
        raise AssertionError("a live piece's words were tagged a second time")

    monkeypatch.setattr(transcripts, "language_tags", tag_again)
    wav = tmp_path / "session.wav"
    shutil.copy(ru_clip.path, wav)
    words = [TimedWord(0.0, 0.8, " Подключение", 0.93), TimedWord(0.8, 1.2, " к", 0.9)]
    # Not what the tagger would say for " к": the stored tag can only come from the stream.
    tags = LanguageTags(["ru", "other"], 0.0, "Подключение к")

    job = stream_job_save(
        owner_id=user.pk,
        wav_path=wav,
        language_requested="ru",
        language="ru",
        language_probability=0.98,
        initial_prompt="",
        segments=[StreamSegment(0.0, 1.2, "Подключение к", words, "ru", tags=tags)],
        model_id="whisper-base@test",
        processing_s=1.5,
        started_at=timezone.now(),
    )

    segment = job.segments.get()
    assert [(w.text, w.language) for w in segment.words.order_by("index")] == [
        (" Подключение", "ru"),
        (" к", "other"),
    ]
    assert (segment.text_latin, segment.code_mixing_index) == ("Подключение к", 0.0)

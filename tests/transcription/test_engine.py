"""The engine with the real bundled model on real speech."""

from __future__ import annotations

import jiwer
import pytest
from django.conf import settings

from tests.conftest import CLIPS
from transcription import engine
from uzwhisper.lib.audio import decode_to_array


@pytest.fixture(scope="module")
def model():
    return engine.get_model(engine.EngineConfig(model_path=settings.WHISPER_MODEL, cpu_threads=2))


def _normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).replace("ё", "е").strip()


def test_model_loads_once_per_process_with_int8_on_cpu(model):
    again = engine.get_model(engine.EngineConfig(model_path=settings.WHISPER_MODEL, cpu_threads=2))
    assert again is model
    assert model.device == "cpu"
    assert model.compute_type == "int8"
    assert model.model_id.startswith("whisper-base@d01c3014881c")


def test_russian_clip_is_detected_as_russian_and_transcribed(model):
    clip = CLIPS["demo-nogo"]
    result = engine.transcribe(model, decode_to_array(clip.path), engine.TranscribeOptions())
    segments = list(result.segments)
    assert result.language == "ru"
    assert result.language_probability > 0.9
    hypothesis = " ".join(s.text for s in segments)
    # DESIGN.md measured CER 4% for this model on these Russian clips; the brand names
    # ("Астериск", "Дигиум") are what it misses. 15% leaves room for int8 and thread jitter
    # while still failing a broken decoder, language or resampler.
    assert jiwer.cer(_normalise(clip.text), _normalise(hypothesis)) < 0.15
    words = [w for s in segments for w in s.words]
    assert words
    assert all(0 <= w.start <= w.end <= clip.duration_s + 0.5 for w in words)
    assert all(s.start <= s.end for s in segments)


def test_auto_detection_only_answers_uzbek_or_russian(model):
    clip = CLIPS["usc_1131474547_2_29208_1"]
    language, probability = engine.detect_language(
        model, decode_to_array(clip.path), vad_filter=True
    )
    # Unrestricted, Whisper base calls this clip Azerbaijani or Turkish.
    assert language in engine.SUPPORTED_LANGUAGES
    assert 0 <= probability <= 1


def test_uzbek_clip_forced_to_uzbek_gives_segments(model):
    clip = CLIPS["usc_1131474547_2_29208_1"]
    result = engine.transcribe(
        model, decode_to_array(clip.path), engine.TranscribeOptions(language="uz")
    )
    segments = list(result.segments)
    assert result.language == "uz"
    assert segments
    assert any(s.text.strip() for s in segments)

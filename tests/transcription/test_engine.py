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


def _suppressed(model, language: str, text: str) -> list[str]:
    tokenizer = model.whisper.hf_tokenizer
    foreign = set(model.foreign_tokens[language])
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    return [tokenizer.decode([i]) for i in ids if i in foreign]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("uz", "oʻzbek tili, g‘alaba va o'g'il, maʼno"),  # every apostrophe Uzbek is written with
        ("uz", "Target Systems 2018-yil «Asterisk» — 5 °C…"),
        ("ru", "Подключение к серверу «Астериск» — № 5…"),
        ("ru", "Ўзбекистон қишлоқ ғалла ҳосили"),  # Cyrillic Uzbek letters are Cyrillic
        ("ru", "Target Systems"),  # names stay in Latin
    ],
)
def test_text_in_the_languages_alphabet_needs_no_suppressed_token(model, language, text):
    assert _suppressed(model, language, text) == []


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("uz", "Подключение"),  # an Uzbek decode writes Latin, the official alphabet
        ("uz", "şəhər"),  # Azerbaijani and Turkish letters Whisper reaches for
        ("uz", "ʃʒ"),  # IPA, spelled byte by byte
        ("ru", "oʻzbek"),
        ("ru", "ప్రభుత్వం"),
        ("uz", "中华人民共和国"),
        ("ru", "こんにちは"),
        ("uz", "مرحبا"),
    ],
)
def test_letters_of_other_alphabets_are_suppressed(model, language, text):
    assert _suppressed(model, language, text)


def test_each_language_keeps_most_of_the_vocabulary(model):
    vocabulary = model.whisper.hf_tokenizer.get_vocab_size()
    for language in engine.SUPPORTED_LANGUAGES:
        assert 1000 < len(model.foreign_tokens[language]) < vocabulary // 3


def test_a_window_that_stayed_a_loop_or_lies_past_the_end_is_left_out(model):
    # faster-whisper's Segment carries the compression ratio of the text it kept; a window
    # whose every fallback repeated itself keeps a ratio above Whisper's threshold.
    from faster_whisper.transcribe import Segment, get_compression_ratio

    def segment(text: str, start: float) -> Segment:
        return Segment(
            id=0,
            seek=0,
            start=start,
            end=start + 1,
            text=text,
            tokens=[],
            avg_logprob=-0.1,
            compression_ratio=get_compression_ratio(text),
            no_speech_prob=0.0,
            words=None,
            temperature=1.0,
        )

    kept = [
        segment("Вы были удалены из конференции.", 0),
        segment(" ".join(["Ə"] * 60), 1),
        segment("OK " * 40, 2),
        segment("ammo boshqa bir sabab bilan", 3),
        segment("tv show", 11),  # "heard" in the padding past the audio's end
    ]
    texts = [s.text for s in engine._without_hallucinations(iter(kept), duration=10.0)]
    assert texts == ["Вы были удалены из конференции.", "ammo boshqa bir sabab bilan"]

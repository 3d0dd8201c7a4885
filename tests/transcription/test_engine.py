"""The engine with the real bundled model on real speech."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest
from django.conf import settings

from tests.support import CLIPS, decode_as, whisper_window
from uzwhisper.asr import engine, scripts
from uzwhisper.asr.languages import SUPPORTED_LANGUAGES
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


@pytest.mark.parametrize(
    ("clip", "language"), [("usc_1131474547_2_29208_1", "uz"), ("demo-nogo", "ru")]
)
def test_auto_detection_hears_uzbek_and_russian(model, clip, language):
    # Unrestricted, Whisper base calls the Uzbek clip Azerbaijani or Turkish.
    detected, probability = engine.detect_language(
        model, decode_to_array(CLIPS[clip].path), vad_filter=True
    )
    assert detected == language
    assert 0.5 < probability <= 1


def test_uzbek_clip_forced_to_uzbek_accounts_for_its_speech(model):
    """Zero-shot Whisper base cannot write this clip reliably (its output differs between runs:
    sampled fallback), but whatever it does, the speech is accounted for: as text in the Latin
    alphabet, or as a stretch marked untranscribed; never a silent empty transcript."""
    clip = CLIPS["usc_1131474547_2_29208_1"]
    audio = decode_to_array(clip.path)
    result = engine.transcribe(model, audio, engine.TranscribeOptions(language="uz"))
    segments = list(result.segments)
    assert result.language == "uz"
    assert segments
    speech_start, speech_end = engine.speech_span(audio)
    covered = sum(s.end - s.start for s in segments)
    assert covered >= 0.5 * (speech_end - speech_start)
    for segment in segments:
        assert segment.language == "uz"
        if segment.untranscribed:
            assert segment.text == ""
            assert segment.words == []
        else:
            assert any(char.isalpha() for char in segment.text)
            assert not any("\u0400" <= char < "\u0500" for char in segment.text)


def test_a_looping_window_costs_a_bounded_number_of_tokens(model):
    # A 4.4 s clip may take 12 tokens a second plus the allowance, not Whisper's 448.
    budget = engine._token_budget(model, 4.4, "")
    assert budget == 53 + engine.TOKEN_ALLOWANCE
    # Long audio: a full window, within what the decoder has beside the prompt.
    assert engine._token_budget(model, 600.0, "") == 30 * 12 + engine.TOKEN_ALLOWANCE
    long_prompt = " ".join(["soʻz"] * 400)
    assert engine._token_budget(model, 600.0, long_prompt) <= engine.WHISPER_MAX_LENGTH - 224
    assert len(engine.FALLBACK_TEMPERATURES) <= 3


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
    for language in SUPPORTED_LANGUAGES:
        assert 1000 < len(model.foreign_tokens[language]) < vocabulary // 3


def test_a_looping_window_is_marked_untranscribed_and_one_past_the_end_left_out(model):
    # faster-whisper's Segment carries the compression ratio of the text it kept; a window
    # whose every fallback repeated itself keeps a ratio above Whisper's threshold.
    decoded = [
        whisper_window("Вы были удалены из конференции.", 0),
        whisper_window(" ".join(["Ə"] * 60), 1),
        whisper_window("OK " * 40, 2),
        whisper_window("– – – – – – –", 3),
        whisper_window("ammo boshqa bir sabab bilan", 4),
        whisper_window("tv show", 11),  # "heard" in the padding past the audio's end
    ]
    guarded = list(engine._guarded(iter(decoded), duration=10.0))
    assert [(s.start, untranscribed) for s, untranscribed in guarded] == [
        (0, False),
        (1, True),
        (2, True),
        (3, True),
        (4, False),
    ]
    results = [engine._segment_result(pair, language="uz") for pair in guarded]
    assert [r.text for r in results] == ["", "", "", "", "ammo boshqa bir sabab bilan"]
    assert [r.untranscribed for r in results] == [True, True, True, True, False]


@pytest.mark.parametrize(
    ("language", "text", "cleaned"),
    [
        ("uz", " ʻvauta ʻal ʻow ʻ stakeholder", "vauta al ow stakeholder"),
        ("uz", "oʻzbek gʻalaba maʼno†", "oʻzbek gʻalaba maʼno"),
        ("uz", "2018-yil «Asterisk» — 5 °C…", "2018-yil «Asterisk» — 5 °C…"),
        ("uz", "ʃʒ ʘ", ""),
        ("ru", "Подключение† к серверу", "Подключение к серверу"),
        ("ru", "ʻслово", "слово"),
    ],
)
def test_text_keeps_to_its_alphabet_without_stray_apostrophes(language, text, cleaned):
    assert scripts.clean_text(text, language=language) == cleaned


def test_mixed_parts_that_come_back_empty_are_merged_into_one_marked_stretch():
    def result(start: float, end: float, language: str, *, marked: bool) -> engine.SegmentResult:
        return engine.SegmentResult(
            start, end, "" if marked else "so'z", 0.0, 0.0, [], language, untranscribed=marked
        )

    merged = list(
        engine._merge_untranscribed(
            iter(
                [
                    result(0, 1, "uz", marked=True),
                    result(1, 2.5, "uz", marked=True),
                    result(2.5, 3, "uz", marked=False),
                    result(3, 4, "ru", marked=True),
                ]
            )
        )
    )
    assert [(r.start, r.end, r.untranscribed) for r in merged] == [
        (0, 2.5, True),
        (2.5, 3, False),
        (3, 4, True),
    ]


def test_a_mixed_part_with_no_text_is_marked_from_its_start(monkeypatch):
    """The Uzbek part of an uz-then-ru recording (0–6.27 s) whose only window is a loop marked at
    4.84 s: the whole part is marked, from 0 s, not only its last window; the Russian follows."""
    parts = [engine.SpeechPart(0, 100_256, "uz", 0.9), engine.SpeechPart(102_496, 216_352, "ru", 1)]
    decoded = {
        "uz": [whisper_window(" ".join(["Ə"] * 60), 4.84, 6.27)],
        "ru": [whisper_window("Абонент не отвечает.", 0.0, 1.6)],
    }

    monkeypatch.setattr(engine, "speech_parts", lambda model, audio, cache=None: parts)
    decode_as(monkeypatch, decoded)
    audio = np.zeros(216_352, np.float32)
    options = engine.TranscribeOptions(language="mixed", word_timestamps=False)
    results = list(engine.transcribe(None, audio, options).segments)  # type: ignore[arg-type]

    assert [(round(r.start, 2), round(r.end, 2), r.language, r.untranscribed) for r in results] == [
        (0.0, 6.27, "uz", True),
        (6.41, 8.01, "ru", False),
    ]
    assert results[1].text == "Абонент не отвечает."

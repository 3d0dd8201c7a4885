"""Every stretch of speech ends up in the transcript: as text, or marked untranscribed.

Zero-shot Whisper sometimes writes a short text for the start of a window and ends there; the
rest of the speech must not vanish. The decoder is stood in for (its output varies between runs
with the sampled fallback); the audio and the VAD that finds its speech are real."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import CLIPS, decode_as, whisper_window
from uzwhisper.asr import engine
from uzwhisper.lib.audio import decode_to_array


def _result(start: float, end: float, text: str = "so'z", language: str = "uz"):
    return engine.SegmentResult(start, end, text, -0.1, 0.0, [], language, untranscribed=not text)


def _accounted(results, speech, *, mark_tail: bool = True, duration: float = 10.0):
    stretches = [engine.SpeechStretch(start, end, language) for start, end, language in speech]
    return [
        (round(r.start, 2), round(r.end, 2), r.text, r.language, r.untranscribed)
        for r in engine._merge_untranscribed(
            engine._accounting_for_speech(
                iter(results), lambda: stretches, duration=duration, mark_tail=mark_tail
            )
        )
    ]


def test_speech_after_the_last_text_is_marked():
    # The flake behind the issue: 1.4 s of text, then the decode ended with 2.7 s of speech left.
    assert _accounted([_result(0.3, 1.4)], [(0.3, 2.0, "uz"), (2.3, 4.4, "uz")]) == [
        (0.3, 1.4, "so'z", "uz", False),
        (1.4, 4.4, "", "uz", True),
    ]


def test_a_dropped_stretch_between_texts_is_marked_where_it_is():
    assert _accounted(
        [_result(0.0, 2.0), _result(5.0, 6.0)], [(0.0, 3.2, "uz"), (3.6, 6.0, "uz")]
    ) == [
        (0.0, 2.0, "so'z", "uz", False),
        (2.0, 5.0, "", "uz", True),
        (5.0, 6.0, "so'z", "uz", False),
    ]


def test_the_short_gaps_whisper_leaves_between_good_segments_are_not_marked():
    # Russian transcribed well leaves up to 0.3 s of speech between its segments (37 test clips).
    speech = [(0.0, 6.9, "ru")]
    results = [_result(0.0, 1.42, "Абонент", "ru"), _result(1.66, 6.84, "Сейчас", "ru")]
    assert [r[4] for r in _accounted(results, speech)] == [False, False]
    # Under a second of speech left at the end is not marked either.
    assert len(_accounted([_result(0.0, 5.0)], [(0.0, 5.9, "uz")])) == 1


def test_with_no_text_all_the_speech_is_one_marked_stretch():
    # Only a looping window near the end came back: the marker starts where the speech does.
    assert _accounted([_result(4.84, 6.27, "")], [(0.2, 3.0, "uz"), (3.3, 6.27, "uz")]) == [
        (0.2, 6.27, "", "uz", True),
    ]
    assert _accounted([], [(0.5, 1.1, "uz")]) == [(0.5, 1.1, "", "uz", True)]
    assert _accounted([], []) == []


def test_a_marker_takes_the_language_of_the_speech_it_covers():
    speech = [(0.0, 4.0, "uz"), (4.4, 9.0, "ru")]
    assert _accounted([_result(0.0, 3.8), _result(4.4, 5.0, "Да", "ru")], speech) == [
        (0.0, 3.8, "so'z", "uz", False),
        (4.4, 5.0, "Да", "ru", False),
        (5.0, 9.0, "", "ru", True),
    ]


def test_live_buffers_leave_the_speech_after_their_last_word_to_the_next_step():
    # The words at a growing buffer's edge are not decoded yet: not marked while text came back.
    assert _accounted([_result(0.0, 1.0)], [(0.0, 4.0, "uz")], mark_tail=False) == [
        (0.0, 1.0, "so'z", "uz", False),
    ]
    # A gap between words is marked (the next decodes agree on it, or write its words).
    assert _accounted(
        [_result(0.0, 1.0), _result(3.0, 4.0)], [(0.0, 4.0, "uz")], mark_tail=False
    ) == [
        (0.0, 1.0, "so'z", "uz", False),
        (1.0, 3.0, "", "uz", True),
        (3.0, 4.0, "so'z", "uz", False),
    ]
    assert _accounted([], [(0.0, 4.0, "uz")], mark_tail=False) == [(0.0, 4.0, "", "uz", True)]


def test_the_vad_runs_only_when_a_gap_could_hold_enough_speech():
    calls = []

    def find_speech():
        calls.append(1)
        return [engine.SpeechStretch(0.0, 5.0, "uz")]

    results = [_result(0.0, 2.0), _result(2.3, 4.5)]
    accounted = engine._accounting_for_speech(
        iter(results), find_speech, duration=5.0, mark_tail=True
    )
    assert [r.untranscribed for r in accounted] == [False, False]
    assert calls == []


@pytest.fixture
def uzbek_clip():
    # 4.4 s of Uzbek (speech from 0.67 s), the clip of the flaky test: its text once ended at 1.4 s.
    return decode_to_array(CLIPS["usc_1131474547_2_29208_1"].path)


def test_a_job_whose_decode_stops_early_marks_the_rest_of_its_speech(monkeypatch, uzbek_clip):
    decode_as(monkeypatch, [whisper_window(" Bu yerda", 0.37, 1.4)])
    options = engine.TranscribeOptions(language="uz", word_timestamps=False)
    segments = list(engine.transcribe(None, uzbek_clip, options).segments)  # type: ignore[arg-type]

    assert [(s.text, s.untranscribed, s.language) for s in segments] == [
        ("Bu yerda", False, "uz"),
        ("", True, "uz"),
    ]
    speech_end = engine.speech_chunks(uzbek_clip)[-1][1]
    assert segments[1].start == pytest.approx(1.4)
    assert segments[1].end == pytest.approx(speech_end)
    assert speech_end > 4.0


def test_a_mixed_part_whose_decode_stops_early_marks_the_rest(monkeypatch, uzbek_clip):
    parts = [engine.SpeechPart(0, len(uzbek_clip), "uz", 0.9)]
    monkeypatch.setattr(engine, "speech_parts", lambda model, audio, cache=None: parts)
    decode_as(monkeypatch, [whisper_window(" Bu yerda", 0.37, 1.4)])
    options = engine.TranscribeOptions(language="mixed", word_timestamps=False)
    segments = list(engine.transcribe(None, uzbek_clip, options).segments)  # type: ignore[arg-type]

    assert [(s.untranscribed, s.language) for s in segments] == [(False, "uz"), (True, "uz")]
    assert segments[1].start == pytest.approx(1.4)
    assert segments[1].end > 4.0


def test_silence_after_the_text_is_not_marked(monkeypatch, uzbek_clip):
    # The same text followed by silence, not speech: nothing to mark.
    audio = np.concatenate([uzbek_clip[: int(1.5 * 16000)], np.zeros(3 * 16000, np.float32)])
    decode_as(monkeypatch, [whisper_window(" Bu yerda", 0.37, 1.4)])
    options = engine.TranscribeOptions(language="uz", word_timestamps=False)
    segments = list(engine.transcribe(None, audio, options).segments)  # type: ignore[arg-type]

    assert [s.untranscribed for s in segments] == [False]


def test_a_live_buffer_marks_speech_left_out_only_in_the_streams_final_decode(
    monkeypatch, uzbek_clip
):
    decode_as(monkeypatch, [whisper_window(" Bu yerda", 0.37, 1.4)])

    def words(*, final: bool):
        _, _, decoded = engine.transcribe_words(None, uzbek_clip, language="uz", final=final)  # type: ignore[arg-type]
        return [(round(w.start, 2), w.untranscribed) for w in decoded]

    # Mid-stream, the words after 1.4 s are only not decoded yet: the next step has them.
    assert words(final=False) == []  # the stand-in window has no word timings
    # At the end of the stream they would be lost: marked.
    assert words(final=True) == [(1.4, True)]


def test_a_live_buffer_marks_speech_skipped_between_its_words(monkeypatch, uzbek_clip):
    decode_as(
        monkeypatch, [whisper_window(" Bu yerda", 0.67, 1.2), whisper_window(" ham", 3.5, 4.3)]
    )
    _, _, decoded = engine.transcribe_words(None, uzbek_clip, language="uz")  # type: ignore[arg-type]
    assert [(round(w.start, 2), round(w.end, 2)) for w in decoded if w.untranscribed] == [
        (1.2, 3.5)
    ]

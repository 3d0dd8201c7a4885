"""The LocalAgreement-2 session, one step at a time. The decoder here is scripted: these tests
pin the commit policy itself (what is committed when, what is trimmed); the real model drives it
in tests/transcription/test_live_stream.py."""

from __future__ import annotations

import numpy as np
import pytest

from uzwhisper.asr.streaming import ChunkResult, Committed, StreamConfig, StreamSession, TimedWord

SECOND = np.zeros(16000, dtype=np.float32)


class ScriptedDecoder:
    """Returns the next scripted list of (start, end, text) words, relative to the buffer."""

    def __init__(self, *outputs: list[tuple[float, float, str]], language: str = "uz") -> None:
        self.outputs = list(outputs)
        self.calls: list[tuple[float, str | None, str]] = []
        self.finals: list[bool] = []
        self.language = language

    def __call__(self, audio, language, prompt, *, final):
        self.calls.append((len(audio) / 16000, language, prompt))
        self.finals.append(final)
        words = [TimedWord(s, e, t) for s, e, t in self.outputs.pop(0)]
        return ChunkResult(self.language, 0.9, words)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def session(decoder, **config) -> StreamSession:
    return StreamSession(config=StreamConfig(**config), decode=decoder, clock=Clock())


def test_words_are_committed_once_two_decodes_agree():
    decoder = ScriptedDecoder(
        [(0.0, 0.4, " Salom"), (0.5, 0.9, " dunyo")],
        [(0.0, 0.4, " Salom"), (0.5, 0.9, " dunyo"), (1.0, 1.4, " bugun")],
        [(0.0, 0.4, " Salom"), (0.5, 0.9, " dunyo"), (1.0, 1.4, " bugun"), (1.5, 1.9, " havo")],
    )
    live = session(decoder)
    live.feed(SECOND)
    assert live.step() == []  # nothing to agree with yet
    assert live.tail_text() == "Salom dunyo"

    live.feed(SECOND)
    committed = live.step()
    assert [c.text for c in committed] == ["Salom dunyo"]
    assert live.tail_text() == "bugun"

    live.feed(SECOND)
    assert [c.text for c in live.step()] == ["bugun"]
    assert live.tail_text() == "havo"
    assert live.language == "uz"


def test_disagreement_commits_only_the_common_prefix():
    decoder = ScriptedDecoder(
        [(0.0, 0.4, " bir"), (0.5, 0.9, " ikki"), (1.0, 1.2, " uch")],
        [(0.0, 0.4, " Bir,"), (0.5, 0.9, " ikki"), (1.0, 1.3, " o'ch"), (1.4, 1.8, " to'rt")],
    )
    live = session(decoder)
    live.feed(SECOND)
    live.step()
    live.feed(SECOND)
    committed = live.step()
    # Case and punctuation do not block agreement; a changed word does.
    assert [w.text for w in committed[0].words] == [" Bir,", " ikki"]
    assert live.tail_text() == "o'ch to'rt"


def test_finish_commits_whatever_is_left():
    decoder = ScriptedDecoder([(0.0, 0.4, " oxirgi")], [(0.0, 0.4, " oxirgi"), (0.5, 0.8, " gap")])
    live = session(decoder)
    live.feed(SECOND)
    live.step()
    final = live.finish()
    assert [c.text for c in final] == ["oxirgi gap"]
    assert len(live.buffer) == 0
    # Only the last decode is told the stream has ended (it marks speech it leaves out).
    assert decoder.finals == [False, True]


def test_long_buffers_are_trimmed_after_the_last_committed_word():
    decoder = ScriptedDecoder(
        [(0.0, 5.0, " uzun"), (5.0, 11.0, " gap")],
        [(0.0, 5.0, " uzun"), (5.0, 11.0, " gap"), (11.0, 11.5, " davom")],
    )
    live = session(decoder, trim_seconds=10.0)
    live.feed(np.zeros(16000 * 12, dtype=np.float32))
    live.step()
    live.step()
    assert live.committed_until == pytest.approx(11.0)
    assert live.buffer_offset == pytest.approx(11.0)
    assert len(live.buffer) == 16000  # only the second after the committed words is kept


def test_prompt_holds_only_committed_text_that_left_the_buffer():
    decoder = ScriptedDecoder(
        [(0.0, 6.0, " birinchi"), (6.0, 11.0, " gap")],
        [(0.0, 6.0, " birinchi"), (6.0, 11.0, " gap"), (11.0, 11.5, " keyin")],
        [(0.0, 0.5, " keyin"), (0.6, 0.9, " yana")],
    )
    live = session(decoder, trim_seconds=10.0, initial_prompt="Toshkent")
    live.feed(np.zeros(16000 * 12, dtype=np.float32))
    live.step()
    live.step()  # commits "birinchi gap" and trims the buffer to start at 11 s
    live.feed(SECOND)
    live.step()
    prompts = [prompt for _, _, prompt in decoder.calls]
    assert prompts[:2] == ["Toshkent", "Toshkent"]
    assert prompts[2] == "Toshkent birinchi gap"
    assert live.committed[-1].words[0].start == pytest.approx(11.0)  # on the stream's clock
    assert live.tail[0].start == pytest.approx(11.6)


def test_auto_language_is_detected_then_kept_until_the_buffer_is_trimmed():
    decoder = ScriptedDecoder([(0.0, 0.5, " Привет")], [(0.0, 0.5, " Привет")], language="ru")
    live = session(decoder, language="auto")
    live.feed(SECOND)
    live.step()
    live.feed(SECOND)
    live.step()
    assert [language for _, language, _ in decoder.calls] == [None, "ru"]


def test_after_a_trim_the_language_is_detected_again_for_the_next_utterance():
    # How an `auto` stream follows a switch between utterances: each utterance that starts a
    # fresh buffer gets its own detection.
    decoder = ScriptedDecoder(
        [(0.0, 5.0, " Привет"), (5.0, 11.0, " мир")],
        [(0.0, 5.0, " Привет"), (5.0, 11.0, " мир")],
        [(0.0, 0.5, " salom")],
        language="ru",
    )
    live = session(decoder, language="auto", trim_seconds=10.0)
    live.feed(np.zeros(16000 * 12, dtype=np.float32))
    live.step()
    live.step()  # commits, then trims the buffer past "мир"
    assert live.language == ""
    decoder.language = "uz"
    live.feed(SECOND)
    live.step()
    assert [language for _, language, _ in decoder.calls] == [None, "ru", None]
    assert live.language == "uz"


def test_lag_is_the_time_from_a_words_audio_arriving_to_its_commit():
    clock = Clock()
    decoder = ScriptedDecoder([(0.0, 0.4, " tez")], [(0.0, 0.4, " tez"), (0.5, 0.8, " keldi")])
    live = StreamSession(config=StreamConfig(), decode=decoder, clock=clock)
    live.feed(SECOND)  # arrives at t=100
    live.step()
    clock.now = 101.7
    live.feed(SECOND)
    committed = live.step()
    assert committed[0].lag_seconds == pytest.approx(1.7)
    assert live.behind_seconds == 0.0


def test_a_window_that_keeps_disagreeing_is_committed_rather_than_grown():
    decoder = ScriptedDecoder([(0.0, 1.0, " a")])
    live = session(decoder, max_buffer_seconds=2.0)
    live.feed(np.zeros(16000 * 3, dtype=np.float32))
    assert [c.text for c in live.step()] == ["a"]


def test_a_mixed_stream_commits_each_language_as_its_own_piece():
    # The decoder runs the engine's mixed mode on the whole buffer: each stretch of speech in
    # its own language, carried by its words.
    outputs = [
        [(0.0, 0.5, " ammo", "uz"), (0.6, 1.0, " boshqa", "uz"), (1.6, 2.0, " Извините", "ru")],
        [
            (0.0, 0.5, " ammo", "uz"),
            (0.6, 1.0, " boshqa", "uz"),
            (1.6, 2.0, " Извините", "ru"),
            (2.1, 2.5, " пожалуйста", "ru"),
        ],
    ]
    calls = []

    def decode(audio, language, prompt, *, final):
        calls.append(language)
        words = [TimedWord(s, e, t, 0.9, lang) for s, e, t, lang in outputs.pop(0)]
        return ChunkResult("uz", 0.8, words)

    live = session(decode, language="mixed")
    live.feed(np.zeros(16000 * 2, dtype=np.float32))
    assert live.step() == []
    live.feed(SECOND)
    committed = live.step()
    assert calls == ["mixed", "mixed"]
    assert [(c.language, c.text) for c in committed] == [
        ("uz", "ammo boshqa"),
        ("ru", "Извините"),
    ]
    assert live.tail_text() == "пожалуйста"


def test_an_untranscribed_stretch_is_committed_once_two_decodes_mark_the_same_one():
    """Zero-shot Uzbek often cannot be written: the decoder marks the stretch. Two decodes that
    mark the same stretch commit it (no text) so the words after it can commit too; a marker
    over a different stretch does not count as agreement."""
    outputs = [
        [(0.5, 3.0, "", "uz", True)],
        [(3.1, 4.5, "", "uz", True)],  # the part was cut elsewhere: not the same stretch
        [(0.5, 4.7, "", "uz", True), (5.2, 5.6, " Извините", "ru", False)],
        [(0.5, 4.7, "", "uz", True), (5.2, 5.6, " Извините", "ru", False)],
    ]

    def decode(audio, language, prompt, *, final):
        words = [TimedWord(s, e, t, 0.9, lang, marked) for s, e, t, lang, marked in outputs.pop(0)]
        return ChunkResult("uz", 0.8, words)

    live = session(decode, language="mixed")
    committed = []
    for _ in range(4):
        live.feed(SECOND)
        committed += live.step()
    assert [(c.language, c.untranscribed, c.text) for c in committed] == [
        ("uz", True, ""),
        ("ru", False, "Извините"),
    ]
    assert (committed[0].start, committed[0].end, committed[0].words) == (0.5, 4.7, [])


def test_a_stretch_the_final_decode_marks_starts_where_the_committed_text_ends():
    """The final decode re-reads the committed words still in the buffer; speech it leaves out
    after them is marked, and a marker reaching back into committed audio keeps only its new
    part (times never overlap the committed text)."""
    decoder = ScriptedDecoder(
        [(0.0, 0.4, " Salom"), (0.5, 0.9, " dunyo")],
        [(0.0, 0.4, " Salom"), (0.5, 0.9, " dunyo"), (1.0, 1.4, " bugun")],
    )
    live = session(decoder)
    live.feed(SECOND)
    live.step()
    live.feed(SECOND)
    assert [c.text for c in live.step()] == ["Salom dunyo"]
    live.feed(SECOND)

    def final_decode(audio, language, prompt, *, final):
        assert final
        words = [
            TimedWord(0.0, 0.4, " Salom"),
            TimedWord(0.4, 2.9, "", 0.0, "uz", untranscribed=True),
        ]
        return ChunkResult("uz", 0.9, words)

    live.decode = final_decode
    final = live.finish()
    assert [(c.start, c.end, c.untranscribed) for c in final] == [(0.9, 2.9, True)]


def test_a_marked_stretch_seen_again_a_little_longer_is_not_committed_twice():
    # The real live mixed test's Uzbek part: marked 0.52–4.50, then decoded as 0.52–4.73.
    live = session(ScriptedDecoder(), language="mixed")
    live.committed.append(Committed(0.52, 4.5, "", "uz", [], 0.0, untranscribed=True))
    again = TimedWord(0.52, 4.73, "", 0.0, "uz", untranscribed=True)
    russian = TimedWord(5.16, 5.62, " Извините", 0.9, "ru")
    assert live._drop_already_committed([again, russian]) == [russian]
    # Grown by a second or more, its new part is new speech.
    grown = TimedWord(0.52, 5.6, "", 0.0, "uz", untranscribed=True)
    assert [(w.start, w.end) for w in live._drop_already_committed([grown])] == [(4.5, 5.6)]

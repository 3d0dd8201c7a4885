"""The stream worker's session bookkeeping, one step at a time, without a model or a layer."""

from __future__ import annotations

import wave
from pathlib import Path

from django.utils import timezone

from transcription import stream_worker
from transcription.stream_worker import LiveSession, committed_payload
from uzwhisper.asr.languages import SAMPLE_RATE
from uzwhisper.asr.streaming import Committed, StreamConfig, StreamSession, TimedWord


def _session(tmp_path: Path) -> LiveSession:
    def no_decode(*args):
        raise AssertionError("nothing is decoded here")

    config = StreamConfig(language="ru")
    wav_path = tmp_path / "live.wav"
    wav = wave.open(str(wav_path), "wb")  # noqa: SIM115 (the test closes it)
    wav.setparams((1, 2, SAMPLE_RATE, 0, "NONE", "not compressed"))
    return LiveSession(
        id="s1",
        owner_id=1,
        reply_channel="reply",
        config=config,
        stream=StreamSession(config=config, decode=no_decode),
        wav_path=wav_path,
        wav=wav,
        started_at=timezone.now(),
    )


def test_a_committed_piece_is_tagged_once_for_its_final_and_its_save(tmp_path, monkeypatch):
    calls = []
    real = stream_worker.language_tags

    def counting(words, **kwargs):
        calls.append(words)
        return real(words, **kwargs)

    monkeypatch.setattr(stream_worker, "language_tags", counting)
    session = _session(tmp_path)
    words = [TimedWord(0.0, 0.8, " Подключение", 0.93), TimedWord(0.8, 1.2, " к", 0.9)]
    session.stream.committed.append(Committed(0.0, 1.2, "Подключение к", "ru", words, 0.4))
    try:
        final = committed_payload(session.stream.committed[0], session.tags_of(0))
        saved = session.tags_of(0)  # what `_save` hands to stream_job_save
    finally:
        session.wav.close()

    assert calls == [[" Подключение", " к"]]
    assert [w["language"] for w in final["words"]] == saved.tags
    assert len(saved.tags) == 2

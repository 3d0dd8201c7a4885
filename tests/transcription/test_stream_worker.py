"""The stream worker in-process, one step at a time: an in-memory channel layer, a stand-in model
and a decode the test holds for as long as it likes; and its session bookkeeping without a model
or a layer."""

from __future__ import annotations

import asyncio
import threading
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
from channels.layers import InMemoryChannelLayer
from django.utils import timezone

from tests.factories import UserFactory
from tests.support import CLIPS
from transcription import live_protocol as protocol
from transcription import stream_worker
from transcription.models import Job
from transcription.stream_worker import LiveSession, committed_payload
from uzwhisper.asr.languages import SAMPLE_RATE
from uzwhisper.asr.streaming import ChunkResult, Committed, StreamConfig, StreamSession, TimedWord
from uzwhisper.lib.audio import decode_to_array

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stop_during_a_long_decode_keeps_heartbeats_then_finishes_and_saves(
    settings, monkeypatch
):
    """Issue 8: a SIGTERM (request_stop) that arrives while a decode runs longer than the
    consumer's heartbeat timeout. The client must keep hearing heartbeats, then
    `worker_restarting`, then `done` with its saved job; never silence (which its consumer
    reports as `worker_lost`)."""
    settings.STREAM_HEARTBEAT_SECONDS = 0.1
    settings.STREAM_MODEL_CHECK_SECONDS = 60
    owner = UserFactory()
    decoding, release = threading.Event(), threading.Event()

    def held_decode(audio, language, prompt, *, final):
        decoding.set()
        assert release.wait(30)
        return ChunkResult("ru", 1.0, [TimedWord(0.1, 0.5, " Привет", 0.9, "ru")])

    model = SimpleNamespace(model_id="stand-in@0")
    monkeypatch.setattr(stream_worker, "_serving_model_in_thread", lambda: model)
    monkeypatch.setattr(
        stream_worker.StreamWorker, "_decoder", lambda self, model, *, vad_filter: held_decode
    )

    async def scenario() -> list[dict]:
        layer = InMemoryChannelLayer()
        worker = stream_worker.StreamWorker(layer, slots=1)
        running = asyncio.create_task(worker.run())
        reply = await layer.new_channel("client.")
        await layer.send(
            protocol.REQUESTS_CHANNEL,
            {
                "type": "stream.request",
                "session": "s1",
                "owner_id": owner.pk,
                "reply_channel": reply,
                "config": {"language": "ru"},
                "expires_at": time.time() + 30,
            },
        )
        ready = await asyncio.wait_for(layer.receive(reply), 10)
        if ready["type"] == "stream.loading":  # the request came before the model was in
            ready = await asyncio.wait_for(layer.receive(reply), 10)
        assert ready["type"] == "stream.ready"
        # Real speech: a session's recording must pass the checks every stored job passes.
        pcm = (decode_to_array(CLIPS["vm-sorry"].path)[:16000] * 32767).astype("<i2").tobytes()
        await layer.send(
            ready["worker_channel"], {"type": "stream.audio", "session": "s1", "pcm": pcm}
        )
        assert await asyncio.to_thread(decoding.wait, 10)

        worker.request_stop()
        # Held well past several heartbeat periods while the decode runs on.
        heard: list[dict] = []
        hold_until = time.monotonic() + 1.0
        while time.monotonic() < hold_until:
            try:
                heard.append(await asyncio.wait_for(layer.receive(reply), 0.3))
            except TimeoutError:
                heard.append({"type": "silence"})
        release.set()
        while not heard or heard[-1].get("payload", {}).get("type") != "done":
            heard.append(await asyncio.wait_for(layer.receive(reply), 10))
        await asyncio.wait_for(running, 10)
        return heard

    heard = asyncio.run(scenario())

    kinds = [m["payload"]["type"] if m["type"] == "stream.event" else m["type"] for m in heard]
    assert "silence" not in kinds
    restarting = next(
        i for i, m in enumerate(heard) if m.get("payload", {}).get("code") == "worker_restarting"
    )
    # Heartbeats went on after the stop, while the decode held the worker.
    assert kinds[restarting + 1 :].count("stream.heartbeat") >= 3
    assert kinds[-1] == "done"
    assert Job.objects.filter(id=heard[-1]["payload"]["job"], owner=owner).exists()


def test_a_request_while_the_model_loads_hears_loading_then_ready(settings, monkeypatch):
    """Issue 8: the first stream after start-up must not hear `busy` because the model is still
    loading. The worker takes the request at once and says `stream.loading` (its consumer then
    waits up to STREAM_MODEL_LOAD_SECONDS), and opens the session when the model is in."""
    settings.STREAM_MODEL_CHECK_SECONDS = 60
    loaded = threading.Event()
    model = SimpleNamespace(model_id="stand-in@0")

    def slow_load():
        assert loaded.wait(30)
        return model

    monkeypatch.setattr(stream_worker, "_serving_model_in_thread", slow_load)

    async def scenario() -> tuple[dict, dict]:
        layer = InMemoryChannelLayer()
        worker = stream_worker.StreamWorker(layer, slots=1)
        running = asyncio.create_task(worker.run())
        reply = await layer.new_channel("client.")
        await layer.send(
            protocol.REQUESTS_CHANNEL,
            {
                "type": "stream.request",
                "session": "s1",
                "owner_id": UserFactory.build().pk or 1,
                "reply_channel": reply,
                "config": {"language": "ru"},
                "expires_at": time.time() + 30,
            },
        )
        first = await asyncio.wait_for(layer.receive(reply), 5)
        loaded.set()
        second = await asyncio.wait_for(layer.receive(reply), 10)
        worker.request_stop()
        await asyncio.wait_for(running, 10)
        return first, second

    first, second = asyncio.run(scenario())
    assert first == {"type": "stream.loading", "session": "s1"}
    assert second["type"] == "stream.ready"
    assert second["model"] == "stand-in@0"


def _session(tmp_path: Path) -> LiveSession:
    def no_decode(*args, **kwargs):
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

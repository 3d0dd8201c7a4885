"""The stream worker in-process, one step at a time: an in-memory channel layer, a stand-in model
and a decode the test holds for as long as it likes."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
from channels.layers import InMemoryChannelLayer

from tests.factories import UserFactory
from tests.support import CLIPS
from transcription import live_protocol as protocol
from transcription import stream_worker
from transcription.models import Job
from uzwhisper.asr.streaming import ChunkResult, TimedWord
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

    def held_decode(audio, language, prompt):
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

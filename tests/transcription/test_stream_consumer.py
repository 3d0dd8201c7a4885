"""The `/ws/stream/` relay in-process, with this test standing in for the stream worker on the
real channel layer: what the client hears about the frames it sends."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from tests.factories import TokenFactory
from transcription.live_protocol import FRAMES_BEFORE_READY as BUFFER_WHILE_STARTING
from transcription.live_protocol import REQUESTS_CHANNEL
from uzwhisper.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

FRAME = b"\x00\x00" * 1600  # 100 ms of 16 kHz PCM16


async def receive(ws: WebsocketCommunicator) -> dict:
    return json.loads(await ws.receive_from(timeout=5))


async def session_request(layer) -> dict:
    """The consumer's `stream.request`, as a stream worker would take it (skipping stale ones)."""
    while True:
        message = await layer.receive(REQUESTS_CHANNEL)
        if message["expires_at"] > time.time():
            return message


async def worker_says_ready(layer, request: dict) -> str:
    """Answer a `stream.request` as an admitting worker does; the worker's channel."""
    worker_channel = await layer.new_channel()
    await layer.send(
        request["reply_channel"],
        {
            "type": "stream.ready",
            "session": request["session"],
            "worker_channel": worker_channel,
            "model": "whisper-test",
        },
    )
    return worker_channel


async def test_ack_seq_counts_the_accepted_frames_from_one(settings):
    # Generous: this test is about ack numbering, not admission, and must not race a busy CPU.
    settings.STREAM_ADMISSION_WAIT_SECONDS = 60
    layer = get_channel_layer()
    token = await sync_to_async(TokenFactory)()
    ws = WebsocketCommunicator(application, f"/ws/stream/?token={token.key}")
    connected, _ = await ws.connect()
    assert connected

    await ws.send_to(bytes_data=FRAME)  # before start: refused, no number
    assert (await receive(ws))["code"] == "not_started"
    await ws.send_to(text_data=json.dumps({"type": "start", "ack": True}))
    request = await session_request(layer)
    # Until the worker says ready, frames are held (and acknowledged) up to a limit.
    await ws.send_to(bytes_data=FRAME)
    assert await receive(ws) == {"type": "ack", "seq": 1}
    await ws.send_to(bytes_data=b"\x00" * 3)
    assert (await receive(ws))["code"] == "bad_frame"
    await ws.send_to(bytes_data=b"\x00" * (settings.STREAM_MAX_FRAME_BYTES + 2))
    assert (await receive(ws))["code"] == "frame_too_large"
    await ws.send_to(bytes_data=FRAME)
    assert await receive(ws) == {"type": "ack", "seq": 2}
    for seq in range(3, BUFFER_WHILE_STARTING + 1):
        await ws.send_to(bytes_data=FRAME)
        assert await receive(ws) == {"type": "ack", "seq": seq}
    await ws.send_to(bytes_data=FRAME)
    assert (await receive(ws))["code"] == "not_ready"

    worker_channel = await worker_says_ready(layer, request)
    assert (await receive(ws))["type"] == "ready"
    await ws.send_to(bytes_data=FRAME)
    assert await receive(ws) == {"type": "ack", "seq": BUFFER_WHILE_STARTING + 1}
    # The worker got exactly the accepted frames, in order.
    forwarded = [await layer.receive(worker_channel) for _ in range(BUFFER_WHILE_STARTING + 1)]
    assert {m["type"] for m in forwarded} == {"stream.audio"}
    assert all(m["pcm"] == FRAME for m in forwarded)
    await ws.disconnect()


async def test_a_worker_loading_its_model_extends_admission_until_ready(settings):
    """Issue 8: the first stream after start-up reached a worker still loading its model and was
    told `busy` when the admission deadline ran out. A `stream.loading` from the worker must
    replace that deadline with the model-load one, and `ready` must still get through."""
    settings.STREAM_ADMISSION_WAIT_SECONDS = 0.3
    settings.STREAM_MODEL_LOAD_SECONDS = 60
    layer = get_channel_layer()
    token = await sync_to_async(TokenFactory)()
    ws = WebsocketCommunicator(application, f"/ws/stream/?token={token.key}")
    connected, _ = await ws.connect()
    assert connected
    await ws.send_to(text_data=json.dumps({"type": "start"}))
    request = await session_request(layer)
    await layer.send(
        request["reply_channel"], {"type": "stream.loading", "session": request["session"]}
    )
    # Several admission deadlines pass while the model loads: the client hears nothing, and is
    # not closed as busy.
    assert await ws.receive_nothing(timeout=10 * settings.STREAM_ADMISSION_WAIT_SECONDS)

    await worker_says_ready(layer, request)
    assert (await receive(ws))["type"] == "ready"
    await ws.disconnect()


async def test_without_a_loading_worker_admission_ends_busy(settings):
    """The counterpart: no worker answers, so the admission deadline closes the socket busy."""
    settings.STREAM_ADMISSION_WAIT_SECONDS = 0.3
    token = await sync_to_async(TokenFactory)()
    ws = WebsocketCommunicator(application, f"/ws/stream/?token={token.key}")
    connected, _ = await ws.connect()
    assert connected
    await ws.send_to(text_data=json.dumps({"type": "start"}))
    assert (await receive(ws))["code"] == "busy"
    assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"

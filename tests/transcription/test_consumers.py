"""The job progress WebSocket with the real Redis channel layer and a real worker."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from tests.factories import TokenFactory, UserFactory, make_job
from tests.support import wait_for_job
from transcription.services.jobs import job_enqueue
from uzwhisper.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = [(b"origin", b"http://127.0.0.1")]


def communicator(job_id, token_key: str | None) -> WebsocketCommunicator:
    query = f"?token={token_key}" if token_key else ""
    return WebsocketCommunicator(application, f"/ws/jobs/{job_id}/{query}", headers=ORIGIN)


async def receive_until(ws: WebsocketCommunicator, predicate) -> list[dict]:
    messages = []
    async with asyncio.timeout(60):
        while True:
            message = await ws.receive_json_from(timeout=60)
            messages.append(message)
            if predicate(message):
                return messages


@sync_to_async
def queued_job(path):
    token = TokenFactory()
    return make_job(owner=token.user, path=path), token.key


async def test_unauthenticated_socket_is_closed_with_4401(ru_clip):
    job, _ = await queued_job(ru_clip.path)
    ws = communicator(job.id, None)
    connected, code = await ws.connect()
    assert (connected, code) == (False, 4401)
    await ws.disconnect()


async def test_someone_elses_job_is_closed_with_4404(ru_clip):
    job, _ = await queued_job(ru_clip.path)
    stranger = await sync_to_async(TokenFactory)(user=await sync_to_async(UserFactory)())
    ws = communicator(job.id, stranger.key)
    connected, code = await ws.connect()
    assert (connected, code) == (False, 4404)
    await ws.disconnect()


async def test_worker_events_stream_to_the_socket(celery_worker_process, ru_clip):
    job, key = await queued_job(ru_clip.path)
    ws = communicator(job.id, key)
    connected, _ = await ws.connect()
    assert connected
    snapshot = await ws.receive_json_from(timeout=10)
    assert snapshot["type"] == "job.snapshot"
    assert snapshot["status"] == "queued"
    assert snapshot["segments"] == []

    await sync_to_async(job_enqueue)(job_id=job.id)
    messages = await receive_until(
        ws, lambda m: m["type"] == "job.status" and m["status"] == "done"
    )
    await ws.disconnect()

    statuses = [m["status"] for m in messages if m["type"] == "job.status"]
    assert statuses[0] == "running"
    assert statuses[-1] == "done"
    segments = [m for m in messages if m["type"] == "job.segment"]
    assert [s["index"] for s in segments] == list(range(len(segments)))
    assert all(0 < s["progress"] <= 1 for s in segments)
    assert segments[-1]["words"]
    done = messages[-1]
    assert done["language"] == "ru"
    assert done["real_time_factor"] > 0


async def test_dropped_socket_loses_nothing(celery_worker_process, ru_clip):
    """A client that vanishes mid-job does not disturb the worker; reconnecting replays the
    transcript so far as a snapshot."""
    job, key = await queued_job(ru_clip.path)
    ws = communicator(job.id, key)
    await ws.connect()
    await ws.receive_json_from(timeout=10)
    await sync_to_async(job_enqueue)(job_id=job.id)
    await ws.disconnect()  # dropped before any progress arrived

    finished = await sync_to_async(wait_for_job)(job.id)
    assert finished.status == "done"
    again = communicator(job.id, key)
    await again.connect()
    snapshot = await again.receive_json_from(timeout=10)
    await again.disconnect()
    assert snapshot["status"] == "done"
    assert len(snapshot["segments"]) == await sync_to_async(finished.segments.count)()
    assert snapshot["segments"]


async def test_ping_is_answered(ru_clip):
    job, key = await queued_job(ru_clip.path)
    ws = communicator(job.id, key)
    await ws.connect()
    await ws.receive_json_from(timeout=10)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
    await ws.disconnect()


async def test_cross_site_origin_is_refused_but_programs_without_origin_may_connect(ru_clip):
    job, key = await queued_job(ru_clip.path)
    evil = WebsocketCommunicator(
        application,
        f"/ws/jobs/{job.id}/?token={key}",
        headers=[(b"origin", b"https://evil.example")],
    )
    connected, _ = await evil.connect()
    assert not connected
    await evil.disconnect()
    program = WebsocketCommunicator(
        application,
        f"/ws/jobs/{job.id}/",
        headers=[(b"authorization", f"Bearer {key}".encode())],
    )
    connected, _ = await program.connect()
    assert connected
    assert (await program.receive_json_from(timeout=10))["type"] == "job.snapshot"
    await program.disconnect()


async def test_a_socket_idle_for_longer_than_the_layers_blocking_read_still_gets_events(
    celery_worker_process, ru_clip
):
    """channels_redis waits on Redis in 5 s blocking reads; a socket timeout no longer than that
    killed the receiver, so a page idle that long never heard of its job again."""
    job, key = await queued_job(ru_clip.path)
    ws = communicator(job.id, key)
    await ws.connect()
    await ws.receive_json_from(timeout=10)
    await asyncio.sleep(7)
    await sync_to_async(job_enqueue)(job_id=job.id)
    messages = await receive_until(
        ws, lambda m: m["type"] == "job.status" and m["status"] == "done"
    )
    await ws.disconnect()
    assert any(m["type"] == "job.segment" for m in messages)

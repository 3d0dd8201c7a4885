"""Audio streamed from an asynchronous iterator: chunk by chunk, never the whole file in memory."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory
from tests.support import AsgiServer, open_files, proc_status_kib, start_asgi_server
from transcription.models import Job
from uzwhisper.audio_responses import CHUNK_BYTES, FileChunks, audio_file_response

BIG_FILE_BYTES = 200 * 1024 * 1024
MAX_RSS_GROWTH_KIB = 50 * 1024


async def _collect(response) -> list[bytes]:
    return [chunk async for chunk in response.streaming_content]


@pytest.fixture
def audio_file(tmp_path) -> Path:
    path = tmp_path / "audio.wav"
    path.write_bytes(os.urandom(2 * CHUNK_BYTES + 1000))
    return path


@pytest.mark.asyncio
async def test_whole_file_in_chunks_then_the_file_is_closed(audio_file):
    data = audio_file.read_bytes()
    handle = audio_file.open("rb")
    response = audio_file_response(
        handle=handle, size=len(data), content_type="audio/wav", range_header=None
    )

    chunks = await _collect(response)

    assert response.status_code == 200
    assert response.is_async
    assert response["Content-Length"] == str(len(data))
    assert response["Accept-Ranges"] == "bytes"
    assert "Content-Range" not in response
    assert [len(chunk) for chunk in chunks] == [CHUNK_BYTES, CHUNK_BYTES, 1000]
    assert b"".join(chunks) == data
    assert handle.closed


@pytest.mark.asyncio
async def test_a_range_reads_only_its_bytes(audio_file):
    data = audio_file.read_bytes()
    response = audio_file_response(
        handle=audio_file.open("rb"),
        size=len(data),
        content_type="audio/wav",
        range_header=f"bytes={CHUNK_BYTES - 10}-",
    )

    chunks = await _collect(response)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {CHUNK_BYTES - 10}-{len(data) - 1}/{len(data)}"
    assert response["Content-Length"] == str(len(data) - CHUNK_BYTES + 10)
    assert b"".join(chunks) == data[CHUNK_BYTES - 10 :]


@pytest.mark.asyncio
async def test_closing_the_response_mid_stream_closes_the_file(audio_file):
    handle = audio_file.open("rb")
    response = audio_file_response(
        handle=handle, size=audio_file.stat().st_size, content_type="audio/wav", range_header=None
    )
    stream = aiter(response)
    assert len(await anext(stream)) == CHUNK_BYTES
    assert not handle.closed

    # What Django's ASGI handler does when the client disconnects.
    response.close()

    assert handle.closed
    await stream.aclose()


def test_a_range_past_the_end_is_416_and_closes_the_file(audio_file):
    handle = audio_file.open("rb")
    size = audio_file.stat().st_size
    response = audio_file_response(
        handle=handle, size=size, content_type="audio/wav", range_header=f"bytes={size}-"
    )
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"
    assert handle.closed


@pytest.mark.asyncio
async def test_file_chunks_stop_early_if_the_file_is_shorter(audio_file):
    chunks = [
        chunk async for chunk in FileChunks(audio_file.open("rb"), start=0, length=10 * CHUNK_BYTES)
    ]
    assert b"".join(chunks) == audio_file.read_bytes()


# --- a real server ---------------------------------------------------------------------------


@pytest.fixture
def audio_server(django_db_setup, django_db_blocker) -> Iterator[AsgiServer]:
    server = start_asgi_server("asgi-server-audio")
    yield server
    server.stop()


@pytest.fixture
def big_job(transactional_db) -> Iterator[tuple[Job, Path, str]]:
    """A job whose stored audio is a 200 MB file, and the file's SHA-256. Written straight into
    the media folder the server shares: the contents are never decoded, only served."""
    job_id = uuid.uuid4()
    name = f"audio/big/{job_id}.wav"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(BIG_FILE_BYTES // (8 * 1024 * 1024)):
            block = os.urandom(8 * 1024 * 1024)
            digest.update(block)
            out.write(block)
    job = Job(
        id=job_id,
        owner=UserFactory(),
        created_at=timezone.now(),
        original_name="long-meeting.wav",
        sha256=digest.hexdigest(),
        size_bytes=BIG_FILE_BYTES,
        duration_s=BIG_FILE_BYTES / 32000,
        codec="pcm_s16le",
        status=Job.Status.DONE,
    )
    job.audio.name = name
    job.save()
    yield job, path, digest.hexdigest()
    path.unlink(missing_ok=True)


def _session_client(server: AsgiServer, user) -> httpx.Client:
    django_client = Client()
    django_client.force_login(user)
    cookies = {"sessionid": django_client.cookies["sessionid"].value}
    return httpx.Client(base_url=server.url, cookies=cookies, timeout=120)


def _wait_until_closed(pid: int, path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while str(path) in open_files(pid):
        assert time.monotonic() < deadline, f"the server still holds {path} open"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_200_mb_recording_is_served_without_holding_it_in_memory(audio_server, big_job):
    job, path, sha256 = big_job
    (pid,) = audio_server.worker_pids
    url = f"/jobs/{job.id}/audio"
    with _session_client(audio_server, job.owner) as client:
        # Warm the server up (imports, the first database connection) before measuring.
        assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206
        peak_before = proc_status_kib(pid, "VmHWM")

        digest, received = hashlib.sha256(), 0
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["Content-Length"] == str(BIG_FILE_BYTES)
            assert response.headers["Accept-Ranges"] == "bytes"
            for chunk in response.iter_bytes():
                digest.update(chunk)
                received += len(chunk)
        assert received == BIG_FILE_BYTES
        assert digest.hexdigest() == sha256

        start = 150_000_000
        part = client.get(url, headers={"Range": f"bytes={start}-{start + 999_999}"})
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes {start}-{start + 999_999}/{BIG_FILE_BYTES}"
        with path.open("rb") as stored:
            stored.seek(start)
            assert part.content == stored.read(1_000_000)
        tail = client.get(url, headers={"Range": "bytes=-1000"})
        assert tail.status_code == 206
        assert len(tail.content) == 1000

        growth = proc_status_kib(pid, "VmHWM") - peak_before
        assert growth < MAX_RSS_GROWTH_KIB, f"peak RSS grew {growth / 1024:.0f} MiB"
        print(f"peak RSS growth serving {BIG_FILE_BYTES >> 20} MiB: {growth / 1024:.1f} MiB")

        # A player that stops listening: the server lets go of the file.
        with client.stream("GET", url) as response:
            stream = response.iter_bytes()
            for _ in range(4):
                next(stream)
            assert str(path) in open_files(pid)
        _wait_until_closed(pid, path)

    assert "must consume synchronous iterators" not in audio_server.log()

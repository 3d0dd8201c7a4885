"""Live streaming end to end: a real uvicorn server on loopback, the Redis channel layer and a real
stream worker process with the bundled model. Each fault the protocol promises to handle."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import jiwer
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.factories import TokenFactory
from tests.support import ROOT, process_env
from transcription.models import Job
from transcription.stream_client import file_frames, stream

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def token():
    return TokenFactory()


@pytest.fixture
def ws_url(live_server_url):
    return live_server_url.replace("http://", "ws://") + "/ws/stream/"


@contextlib.contextmanager
def open_stream(ws_url, token, *, send_start: bool = True, **start):
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token.key}"}) as ws:
        if send_start:
            ws.send(json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16", **start}))
        yield ws


def recv(ws, timeout: float = 30) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws, kind: str, timeout: float = 60) -> list[dict]:
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages.append(recv(ws, timeout=deadline - time.monotonic()))
        if messages[-1]["type"] == kind:
            return messages
    raise TimeoutError(f"no {kind}: {messages[-3:]}")


def test_a_real_clip_streams_to_committed_text_and_a_saved_job(
    ws_url, token, stream_worker, ru_clip
):
    seen = []

    class Collect:
        def write(self, text):
            seen.append(text)

        def flush(self):
            pass

    done = stream(
        ws_url,
        file_frames(str(ru_clip.path)),
        token=token.key,
        language="auto",
        speed=4,
        out=Collect(),
    )
    assert done["type"] == "done", done
    assert jiwer.cer(ru_clip.text.lower(), done["text"].lower()) < 0.3
    assert done["duration_s"] == pytest.approx(ru_clip.duration_s, abs=0.1)
    assert done["lag_median_s"] is not None
    assert any(line.startswith("\r\x1b[2K… ") for line in seen)  # partials arrived

    job = Job.objects.get(id=done["job"])
    assert job.owner == token.user
    assert job.status == "done"
    assert job.language_detected == "ru"
    assert job.duration_s == pytest.approx(ru_clip.duration_s, abs=0.1)
    assert job.original_name.startswith("live-")
    segments = list(job.segments.order_by("index"))
    assert " ".join(s.text for s in segments) == done["text"]
    assert all(a.end <= b.start + 0.01 for a, b in itertools.pairwise(segments))
    assert job.segments.first().words.exists()


def test_protocol_mistakes_get_stable_errors_and_the_stream_goes_on(ws_url, token, stream_worker):
    with open_stream(ws_url, token, send_start=False) as ws:
        ws.send(b"\x00\x00" * 800)
        assert recv(ws)["code"] == "not_started"
        ws.send("{not json")
        assert recv(ws)["code"] == "malformed_json"
        ws.send(json.dumps({"type": "start", "sample_rate": 8000}))
        assert recv(ws)["code"] == "unsupported_sample_rate"
        ws.send(json.dumps({"type": "start", "format": "opus"}))
        assert recv(ws)["code"] == "unsupported_format"
        ws.send(json.dumps({"type": "start", "language": "de"}))
        assert recv(ws)["code"] == "unsupported_language"
        ws.send(json.dumps({"type": "start", "sample_rate": 16000, "ack": True}))
        assert recv(ws)["type"] == "ready"
        ws.send("hello, is this thing on?")
        assert recv(ws)["code"] == "expected_audio"
        ws.send(b"\x00" * 100_000)
        error = recv(ws)
        assert error["code"] == "frame_too_large"
        assert "100000" in error["message"]
        ws.send(b"\x00" * 3)
        assert recv(ws)["code"] == "bad_frame"
        ws.send(json.dumps({"type": "start"}))
        assert recv(ws)["code"] == "already_started"
        ws.send(b"\x00\x00" * 1600)
        assert recv(ws) == {"type": "ack", "seq": 1}
        ws.send(json.dumps({"type": "stop"}))
        done = recv_until(ws, "done")[-1]
        assert done["duration_s"] == pytest.approx(0.1)
        ws.close()


def test_unauthenticated_clients_are_refused(ws_url):
    with pytest.raises(InvalidStatus), connect(ws_url):
        pass


def test_a_client_that_vanishes_mid_stream_keeps_what_it_sent(
    ws_url, token, stream_worker, ru_clip
):
    with open_stream(ws_url, token, language="ru") as ws:
        assert recv(ws)["type"] == "ready"
        frames = list(file_frames(str(ru_clip.path)))[:40]  # the first 4 s
        for frame in frames:
            ws.send(frame)
        ws.close()  # no stop: the client just goes

    deadline = time.monotonic() + 60
    while not Job.objects.filter(owner=token.user).exists():
        assert time.monotonic() < deadline, "the session was not saved"
        time.sleep(0.2)
    job = Job.objects.get(owner=token.user)
    assert job.duration_s == pytest.approx(4.0, abs=0.1)
    assert job.status == "done"
    # The slot is free again: a new stream is admitted.
    with open_stream(ws_url, token) as again:
        assert recv(again)["type"] == "ready"


def test_a_client_that_never_says_stop_is_finished_after_the_idle_timeout(
    ws_url, token, stream_worker, ru_clip
):
    with open_stream(ws_url, token, language="ru") as ws:
        assert recv(ws)["type"] == "ready"
        for frame in list(file_frames(str(ru_clip.path)))[:20]:
            ws.send(frame)
        messages = recv_until(ws, "done", timeout=30)  # STREAM_IDLE_SECONDS is 4 in tests
        errors = [m for m in messages if m["type"] == "error"]
        assert [e["code"] for e in errors] == ["idle_timeout"]
        assert messages[-1]["job"]


def test_when_every_slot_is_busy_the_client_hears_busy(ws_url, token, stream_worker):
    with open_stream(ws_url, token) as first:
        assert recv(first)["type"] == "ready"
        with open_stream(ws_url, token) as second:
            busy = recv(second, timeout=10)
            assert busy["code"] == "busy"
            assert busy["retry_after_s"] > 0
            with pytest.raises(ConnectionClosed) as closed:
                second.recv(timeout=5)
            assert closed.value.rcvd.code == 1013
        first.send(json.dumps({"type": "stop"}))
        recv_until(first, "done")


def test_a_killed_stream_worker_is_reported(ws_url, token, stream_worker, ru_clip):
    with open_stream(ws_url, token, language="ru") as ws:
        assert recv(ws)["type"] == "ready"
        ws.send(next(iter(file_frames(str(ru_clip.path)))))
        stream_worker.kill()
        messages = recv_until(ws, "error", timeout=15)
        assert messages[-1]["code"] == "worker_lost"


def test_a_stopping_stream_worker_tells_its_clients_and_saves_their_sessions(
    ws_url, token, stream_worker, ru_clip
):
    with open_stream(ws_url, token, language="ru") as ws:
        assert recv(ws)["type"] == "ready"
        for frame in list(file_frames(str(ru_clip.path)))[:30]:
            ws.send(frame)
        time.sleep(0.5)
        os.killpg(stream_worker.proc.pid, signal.SIGTERM)
        messages = recv_until(ws, "done", timeout=30)
        codes = [m.get("code") for m in messages if m["type"] == "error"]
        assert codes == ["worker_restarting"]
        assert Job.objects.filter(id=messages[-1]["job"], owner=token.user).exists()


def test_the_command_line_client(ws_url, token, stream_worker, ru_clip):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "transcription.stream_client",
            ws_url,
            str(ru_clip.path),
            "--token",
            token.key,
            "--speed",
            "4",
            "--language",
            "ru",
        ],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ru] " in result.stdout
    assert "job " in result.stdout
    assert "консоли" in result.stdout.lower()

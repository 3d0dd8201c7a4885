"""The README's first command on embedded defaults: no PostgreSQL, Redis or RabbitMQ settings, so
SQLite, the file-backed broker and the in-memory channel layer; then the same command with
DATABASE_URL, REDIS_URL and CELERY_BROKER_URL pointing at the real servers. Each time: upload a
clip over the API, follow it over the WebSocket, read the transcript."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time

import httpx
import pytest
from websockets.sync.client import connect

from tests.support import ARTIFACTS, ROOT, free_port
from transcription.stream_client import file_frames, stream

pytestmark = pytest.mark.slow

SERVER_ENV_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "MEDIA_ROOT",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_ASR_QUEUE",
    "CHANNEL_PREFIX",
)


SERVERS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/uzwhisper_start_test",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
}


@pytest.fixture
def real_servers():
    """A database of its own for the started app (the suite's test database is in use)."""
    import psycopg
    import redis

    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS uzwhisper_start_test WITH (FORCE)")
        conn.execute("CREATE DATABASE uzwhisper_start_test")
    redis.Redis.from_url(SERVERS["REDIS_URL"]).flushdb()
    yield SERVERS
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS uzwhisper_start_test WITH (FORCE)")


@pytest.fixture(params=["embedded", "servers"])
def started_app(request, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_VARS}
    env.update(UZWHISPER_VAR_DIR=str(tmp_path / "var"), PORT=str(port), PYTHONUNBUFFERED="1")
    # Both runs share the one assembled model instead of copying 145 MB each.
    env["WHISPER_MODEL"] = str(ROOT / "var" / "models" / "whisper-base")
    if request.param == "servers":
        env.update(request.getfixturevalue("real_servers"))
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"start-script-{request.param}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["bash", "scripts/start.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "Uvicorn running" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)
        token = re.search(r"API token: (\w+)", log_path.read_text()).group(1)
        yield f"127.0.0.1:{port}", token, tmp_path / "var", request.param
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # what Ctrl+C in a terminal does to the group
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise


def test_start_script_serves_upload_to_transcript_without_servers(started_app, ru_clip):
    host, token, var, mode = started_app
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://{host}", headers=headers, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        with ru_clip.path.open("rb") as audio:
            created = client.post("/api/v1/jobs/", files={"audio": ("clip.wav", audio)})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]

        # Without a shared channel layer (embedded) the socket pushes what it reads from the
        # database; with Redis it relays the worker's events.
        events = []
        with connect(f"ws://{host}/ws/jobs/{job_id}/", additional_headers=headers) as socket:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                event = json.loads(socket.recv(timeout=120))
                events.append(event)
                if event.get("status") in ("done", "failed"):
                    break
        assert events[-1]["status"] == "done", events[-1]
        assert any(e["type"] in ("job.segment", "job.snapshot") for e in events)

        text = client.get(f"/api/v1/jobs/{job_id}/transcript/txt/").text
        assert "консоли" in text.lower()
        # Live streaming works too: in the web process (embedded) or a stream worker (servers).
        frames = file_frames(str(ru_clip.path))
        done = stream(f"ws://{host}/ws/stream/", frames, token=token, speed=4, out=io.StringIO())
        assert done["type"] == "done", done
        assert "консоли" in done["text"].lower()
        assert client.get(f"/api/v1/jobs/{done['job']}/").json()["status"] == "done"

    assert (var / "db.sqlite3").exists() == (mode == "embedded")
    if mode == "servers":
        import psycopg

        with psycopg.connect(SERVERS["DATABASE_URL"]) as conn:
            rows = conn.execute("SELECT status FROM transcription_job").fetchall()
        assert rows == [("done",), ("done",)]

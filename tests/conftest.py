"""Shared fixtures: test speech, API clients, and real processes (Celery worker, ASGI server)
running against the test database and the Redis broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech"
ARTIFACTS = ROOT / "test-artifacts"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Clip:
    path: Path
    text: str
    language: str
    duration_s: float


def _load_manifest() -> dict[str, Clip]:
    clips = {}
    for line in (SPEECH / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        path = SPEECH / row["audio"]
        clips[path.stem] = Clip(path, row["text"], row["language"], row["duration_s"])
    return clips


CLIPS = _load_manifest()


@pytest.fixture(scope="session", autouse=True)
def static_root() -> None:
    """Pages go through WhiteNoise here as in the web process, which makes STATIC_ROOT as it
    starts (uzwhisper.asgi); without it WhiteNoise warns on every test client."""
    from uzwhisper.local_dirs import make_static_root

    make_static_root()


@pytest.fixture(scope="session")
def clips() -> dict[str, Clip]:
    return CLIPS


@pytest.fixture
def ru_clip() -> Clip:
    return CLIPS["demo-nogo"]


@pytest.fixture
def uz_clip() -> Clip:
    return CLIPS["usc_1131474547_2_29208_1"]


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def token(user):
    from tests.factories import TokenFactory

    return TokenFactory(user=user)


@pytest.fixture
def api_client(token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    client.user = token.user
    return client


# --- real processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process that shares this test run's database and media."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class ChildProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str], ready: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for(ready)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log_path.name} exited:\n{self.output()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.log_path.name} never printed {text!r}:\n{self.output()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def start_worker(name: str, *, queue: str, **env: str) -> ChildProcess:
    args = [
        str(BIN / "celery"),
        "-A",
        "uzwhisper",
        "worker",
        "-Q",
        queue,
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        "-n",
        f"{name}@%h",
    ]
    return ChildProcess(name, args, process_env(CELERY_ASR_QUEUE=queue, **env), "ready.")


def start_stream_worker(name: str = "stream-worker", *, slots: int = 1) -> ChildProcess:
    args = [PYTHON, "manage.py", "run_stream_worker", "--slots", str(slots)]
    return ChildProcess(name, args, process_env(), "Stream worker ready")


@pytest.fixture
def stream_worker(django_db_setup, django_db_blocker) -> Iterator[ChildProcess]:
    """A live-stream worker with one slot. Per test, so a test may kill it."""
    worker = start_stream_worker()
    yield worker
    worker.stop()


def _flush_test_redis() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[ChildProcess]:
    """A real Celery worker with the bundled model, on the Redis broker and the test database."""
    _flush_test_redis()
    worker = start_worker("worker", queue=settings.CELERY_ASR_QUEUE)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The ASGI app served by uvicorn on loopback, against the test database."""
    port = free_port()
    args = [
        str(BIN / "uvicorn"),
        "uzwhisper.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
        "--lifespan",
        "off",
    ]
    server = ChildProcess("asgi-server", args, process_env(), "Uvicorn running")
    yield f"http://127.0.0.1:{port}"
    server.stop()


def wait_for_job(job_id, *, timeout: float = 120, statuses=("done", "failed", "cancelled")):
    from transcription.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(id=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still {Job.objects.get(id=job_id).status}")

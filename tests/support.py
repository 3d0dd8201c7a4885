"""What tests share besides fixtures: paths, the test speech clips, and real child processes
(Celery workers, the live-stream worker, uvicorn servers) run against the test database and the
Redis broker. The fixtures that use these live in conftest.py.

Waits here are by condition, with a deadline: a process is ready when its log says so."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech"
ARTIFACTS = ROOT / "test-artifacts"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


# --- test speech ------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    path: Path
    text: str
    language: str
    duration_s: float


def load_manifest() -> dict[str, Clip]:
    """The clips of tests/data/speech/manifest.jsonl, by file stem."""
    clips = {}
    for line in (SPEECH / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        path = SPEECH / row["audio"]
        clips[path.stem] = Clip(path, row["text"], row["language"], row["duration_s"])
    return clips


CLIPS = load_manifest()


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
    """A process in a session of its own, its output kept in test-artifacts/<name>.log.
    Returns once that output contains `ready`."""

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


def flush_test_redis() -> None:
    """Empty this test run's Redis database (broker queues, channel layer)."""
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def start_worker(name: str, *, queue: str, **env: str) -> ChildProcess:
    """A Celery worker (solo pool) consuming `queue`, with the bundled model."""
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


def wait_for_job(job_id, *, timeout: float = 120, statuses=("done", "failed", "cancelled")):
    """The job, once its status is one of `statuses`."""
    from transcription.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(id=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still {Job.objects.get(id=job_id).status}")


# --- uvicorn servers --------------------------------------------------------------------

_STARTED = re.compile(r"Started server process \[(\d+)\]")


@dataclass
class AsgiServer:
    process: ChildProcess
    url: str
    worker_pids: list[int]

    def log(self) -> str:
        return self.process.output()

    def stop(self) -> None:
        self.process.stop()


def start_asgi_server(
    name: str, *, workers: int = 1, timeout: float = 60, **env: str
) -> AsgiServer:
    """uvicorn serving the ASGI app on loopback against the test database and media folder.

    Returns once every worker process has imported the app, with their pids (with one worker
    that is uvicorn's own process)."""
    port = free_port()
    args = [
        str(BIN / "uvicorn"),
        "uzwhisper.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--lifespan",
        "off",
    ]
    process = ChildProcess(name, args, process_env(**env), "Uvicorn running")
    # Each worker logs this once it has imported the app; until then requests would queue.
    deadline = time.monotonic() + timeout
    while len(pids := _STARTED.findall(process.output())) < workers:
        if process.proc.poll() is not None or time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"{name}: workers did not start:\n{process.output()[-3000:]}")
        time.sleep(0.2)
    return AsgiServer(process, f"http://127.0.0.1:{port}", [int(pid) for pid in pids])


def proc_status_kib(pid: int, field: str) -> int:
    """A memory figure from /proc/<pid>/status (VmRSS, VmHWM ...) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def open_files(pid: int) -> set[str]:
    """Paths the process holds open."""
    paths = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            paths.add(str(fd.readlink()))
        except FileNotFoundError:  # closed while we looked
            continue
    return paths


# --- model directories for the registry -------------------------------------------------


def bundled_model_copy(target: Path) -> Path:
    """A model directory named `target` holding the bundled model's files (linked, not copied):
    the same weights under another name, so a job's `model_id` shows which version served it."""
    source = Path(settings.WHISPER_MODEL)
    target.mkdir(parents=True)
    for item in source.iterdir():
        (target / item.name).symlink_to(item.resolve())
    return target


def broken_model_dir(target: Path) -> Path:
    """A directory that looks like a CTranslate2 model (the bundled config and tokenizer) but
    whose model.bin is not one: it registers and promotes, and fails to load."""
    source = Path(settings.WHISPER_MODEL)
    target.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (target / name).write_bytes((source / name).read_bytes())
    (target / "model.bin").write_bytes(b"not a CTranslate2 model\n" * 64)
    return target


def start_train_worker(name: str = "train-worker", **env: str) -> ChildProcess:
    """A Celery worker (solo pool) on the `train` queue only (CELERY_TRAIN_QUEUE in `env`
    names another): it holds no Whisper model."""
    args = [
        str(BIN / "celery"),
        "-A",
        "uzwhisper",
        "worker",
        "-Q",
        env.get("CELERY_TRAIN_QUEUE", settings.CELERY_TRAIN_QUEUE),
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        "-n",
        f"{name}@%h",
    ]
    return ChildProcess(name, args, process_env(**env), "ready.")


def write_manifest(path: Path, stems: list[str]) -> Path:
    """A JSONL manifest of test clips (by file stem), audio paths absolute."""
    lines = []
    for line in (SPEECH / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if Path(row["audio"]).stem in stems:
            row["audio"] = str(SPEECH / row["audio"])
            lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The tiny fine-tune of the tests: one Uzbek speaker and two short Russian clips to train on;
# other speakers to evaluate on, Uzbek and Russian.
TRAIN_STEMS = [
    "usc_1131474547_2_29207_1",
    "usc_1131474547_2_29208_1",
    "vm-sorry",
    "pls-hold-while-try",
]
EVAL_STEMS = ["uzbekvoice_sample_uzbek_2", "demo-nogo", "status"]
# A few steps of the tiny model: enough for the loss to fall, seconds on two cores.
TINY_RUN = {
    "max_steps": 4,
    "batch_size": 4,
    "learning_rate": 1e-3,
    "warmup_steps": 0,
    "eval_steps": 2,
    "logging_steps": 1,
    "save_steps": 2,
    "generation_max_length": 24,
}


# --- stand-ins for Whisper's decoder --------------------------------------------------------


def whisper_window(text: str, start: float, end: float | None = None) -> Any:
    """faster-whisper's Segment for one decoded window, as its decoder would give it (the
    compression ratio of the text it kept, no word timings)."""
    from faster_whisper.transcribe import Segment, get_compression_ratio

    return Segment(
        id=0,
        seek=0,
        start=start,
        end=start + 1 if end is None else end,
        text=text,
        tokens=[],
        avg_logprob=-0.1,
        compression_ratio=get_compression_ratio(text),
        no_speech_prob=0.0,
        words=None,
        temperature=0.8,
    )


def decode_as(monkeypatch: Any, windows: list[Any] | dict[str, list[Any]]) -> None:
    """Make the engine's decodes give `windows` (per language, for mixed mode, when a dict),
    through the engine's own guards; the audio, the VAD and everything after are real."""
    from types import SimpleNamespace

    from uzwhisper.asr import engine
    from uzwhisper.asr.languages import SAMPLE_RATE

    def decode(model, audio, language, options, *, vad_filter):  # type: ignore[no-untyped-def]
        duration = len(audio) / SAMPLE_RATE
        decoded = windows[language] if isinstance(windows, dict) else windows
        return engine._guarded(iter(decoded), duration), SimpleNamespace(duration=duration)

    monkeypatch.setattr(engine, "_decode", decode)

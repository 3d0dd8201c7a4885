"""What the benchmark scripts share: an environment and a database for the app under test, a
free port, and child processes (server, workers) that are always stopped again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def app_env(work: Path, *, model: str, threads: int, **overrides: str) -> dict[str, str]:
    """The environment for the app's processes: the same model and threads as this script, quiet
    logs, and a database of their own under `work` unless DATABASE_URL names one."""
    env = dict(
        os.environ,
        WHISPER_CPU_THREADS=str(threads),
        WHISPER_MODEL=model,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **overrides,
    )
    if not os.environ.get("DATABASE_URL"):
        env["UZWHISPER_VAR_DIR"] = str(work / "var")
    return env


def prepare_app(env: dict[str, str], *, username: str) -> str:
    """Migrate the app's database and return an API token for `username`."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    output = subprocess.run(
        [sys.executable, "manage.py", "create_demo_admin", "--username", username],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.split("API token: ")[1].split()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uvicorn_command(port: int) -> list[str]:
    return [
        str(BIN / "uvicorn"),
        "uzwhisper.asgi:application",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ]


class Processes:
    """Child processes started in their own process groups, stopped on leaving the block
    (SIGTERM, then SIGKILL after `grace` seconds), whatever happened inside it."""

    def __init__(self, work: Path, env: dict[str, str], *, grace: float = 30) -> None:
        self.work = work
        self.env = env
        self.grace = grace
        self.children: list[tuple[subprocess.Popen, object]] = []

    def start(self, command: list[str], log_name: str) -> subprocess.Popen:
        log = (self.work / log_name).open("w")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.append((process, log))
        return process

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for process, _ in self.children:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in self.children:
            try:
                process.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()

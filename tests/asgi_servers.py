"""Real uvicorn servers for tests that need one of their own: several worker processes, or a
process whose memory and open files a test watches. (`live_server_url` in conftest is the one
shared single-worker server.)"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BIN, ChildProcess, free_port, process_env

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

"""Live streaming benchmark: N concurrent clients replay real speech at real-time pace.

Starts the ASGI server (and, when REDIS_URL is set, a separate stream worker; otherwise the web
process runs sessions itself), then for N = 1, 2, … opens N connections at once, each sending
100 ms PCM16 frames on the wall clock, and prints per N:
- ack time per frame (median, P95): from sending a frame to its `ack`;
- committed-text lag (median, P95): from sending the frame that holds a word's end to receiving
  the `final` that commits the word;
- real-time factor of decoding, and whether the server kept up: the last word committed within
  5 s of `stop`, so the backlog stayed bounded instead of growing with the stream.

    .venv/bin/python scripts/benchmark_stream.py [--seconds 30] [--max-clients 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_support import ROOT, Processes, app_env, free_port, prepare_app, uvicorn_command

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
from uzwhisper.asr.languages import SAMPLE_RATE

FRAME = SAMPLE_RATE // 10  # samples: 100 ms


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1))))]


def speech_pcm(seconds: float) -> bytes:
    import numpy as np

    from uzwhisper.lib.audio import decode_to_array

    clips = [decode_to_array(p) for p in sorted((ROOT / "tests/data/speech/ru").glob("*.wav"))]
    parts, total = [], 0
    while total < seconds * SAMPLE_RATE:
        for clip in clips:
            parts += [clip, np.zeros(SAMPLE_RATE // 4, np.float32)]
            total += len(clip) + SAMPLE_RATE // 4
    audio = np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def client(url: str, token: str, pcm: bytes, result: dict) -> None:
    from websockets.sync.client import connect

    sent_at: dict[int, float] = {}
    acks: list[float] = []
    lags: list[float] = []
    frames = [pcm[i : i + FRAME * 2] for i in range(0, len(pcm), FRAME * 2)]
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "start",
                    "language": "ru",
                    "sample_rate": SAMPLE_RATE,
                    "format": "pcm16",
                    "ack": True,
                }
            )
        )
        ready = json.loads(ws.recv(timeout=30))
        if ready["type"] != "ready":
            result["error"] = ready
            return
        stop_sent = [0.0]

        def send() -> None:
            start = time.monotonic()
            for seq, frame in enumerate(frames, start=1):
                delay = start + (seq - 1) * 0.1 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent_at[seq] = time.monotonic()
                ws.send(frame)
            stop_sent[0] = time.monotonic()
            ws.send(json.dumps({"type": "stop"}))

        sender = threading.Thread(target=send)
        sender.start()
        last_final = 0.0
        for raw in ws:
            message = json.loads(raw)
            now = time.monotonic()
            if message["type"] == "ack":
                acks.append(now - sent_at[message["seq"]])
            elif message["type"] == "final":
                last_final = now
                for word in message["words"]:
                    seq = min(len(frames), int(word["end"] / 0.1) + 1)
                    if seq in sent_at:
                        lags.append(now - sent_at[seq])
            elif message["type"] == "done":
                result["done"] = message
                break
        sender.join()
    result.update(acks=acks, lags=lags, tail_s=max(0.0, last_final - stop_sent[0]))


def wait_until_serving(url: str, token: str, timeout: float = 120) -> None:
    """Until a session is admitted: the server is up and a worker has loaded its model."""
    from websockets.sync.client import connect

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
                ws.send(json.dumps({"type": "start", "sample_rate": SAMPLE_RATE}))
                if json.loads(ws.recv(timeout=10))["type"] == "ready":
                    ws.send(json.dumps({"type": "stop"}))
                    while json.loads(ws.recv(timeout=30))["type"] != "done":
                        pass
                    return
        except (OSError, TimeoutError, ValueError):
            pass
        except Exception as exc:  # websockets' own errors while the server starts
            if "ConnectionClosed" not in type(exc).__name__ and "Invalid" not in type(exc).__name__:
                raise
        time.sleep(1)
    raise TimeoutError("the stream server never admitted a session")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-clients", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from uzwhisper.lib.model_bundle import assemble_bundled_model

    if str(settings.BUNDLED_MODEL_DIR) == settings.WHISPER_MODEL:
        assemble_bundled_model(settings.BUNDLED_MODEL_DIR)
    work = Path(tempfile.mkdtemp(prefix="uzwhisper-stream-bench-"))
    env = app_env(
        work,
        model=settings.WHISPER_MODEL,
        threads=args.threads,
        STREAM_SLOTS=str(args.max_clients),
    )
    token = prepare_app(env, username="stream-bench")
    port = free_port()
    with Processes(work, env, grace=20) as processes:
        processes.start(uvicorn_command(port), "server.log")
        if os.environ.get("REDIS_URL"):
            processes.start([sys.executable, "manage.py", "run_stream_worker"], "stream-worker.log")
        largest = run_clients(args, port, token)
    print(f"\nLargest number of real-time streams that kept up: {largest}")


def run_clients(args: argparse.Namespace, port: int, token: str) -> int:
    """Open N = 1, 2, … real-time clients at once; print a row per N; return the largest N
    that kept up."""
    url = f"ws://127.0.0.1:{port}/ws/stream/"
    wait_until_serving(url, token)
    pcm = speech_pcm(args.seconds)
    mode = (
        "separate stream worker (Redis layer)"
        if os.environ.get("REDIS_URL")
        else ("in the web process (in-memory layer)")
    )
    print(
        f"{args.seconds:.0f} s of Russian speech per client, real-time pace, {mode}, "
        f"{args.threads} threads, bundled base model int8\n"
    )
    print(
        f"{'N':>2} {'ack med':>8} {'ack P95':>8} {'lag med':>8} {'lag P95':>8} "
        f"{'RTF':>6} {'tail':>6}  keeps up"
    )
    largest = 0
    for clients in range(1, args.max_clients + 1):
        results = [{} for _ in range(clients)]
        threads = [threading.Thread(target=client, args=(url, token, pcm, r)) for r in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if any("error" in r or "done" not in r for r in results):
            print(f"{clients:>2} failed: {[r.get('error') for r in results]}")
            break
        acks = [a for r in results for a in r["acks"]]
        lags = [lag for r in results for lag in r["lags"]]
        rtf = statistics.mean(r["done"]["real_time_factor"] for r in results)
        tail = max(r["tail_s"] for r in results)
        keeps_up = tail < 5
        largest = clients if keeps_up else largest
        print(
            f"{clients:>2} {statistics.median(acks) * 1000:>6.1f}ms "
            f"{percentile(acks, 95) * 1000:>6.1f}ms {statistics.median(lags):>7.2f}s "
            f"{percentile(lags, 95):>7.2f}s {rtf:>6.3f} {tail:>5.1f}s  "
            f"{'yes' if keeps_up else 'no'}",
            flush=True,
        )
        if not keeps_up:
            break
    return largest


if __name__ == "__main__":
    main()

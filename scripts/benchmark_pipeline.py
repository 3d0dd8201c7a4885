"""Pipeline overhead benchmark: the same audio through the whole app and through raw faster-whisper.

The pipeline run starts the ASGI server and a Celery worker (embedded defaults unless
DATABASE_URL / REDIS_URL / CELERY_BROKER_URL say otherwise), uploads over HTTP and waits for the
job to finish; its time is what a client sees, from the first byte of the upload to `done`. The
raw run calls faster-whisper in this process with the same model, compute type, threads and
decoding options. Both are warmed up first; runs alternate; medians are reported.

    .venv/bin/python scripts/benchmark_pipeline.py [--minutes 3] [--runs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_support import BIN, ROOT, Processes, app_env, free_port, prepare_app, uvicorn_command
from websockets.sync.client import connect

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
from uzwhisper.asr.languages import SAMPLE_RATE, SUPPORTED_LANGUAGES

SPEECH = ROOT / "tests" / "data" / "speech"


def build_audio(minutes: float, target: Path) -> float:
    import numpy as np

    from uzwhisper.lib.audio import decode_to_array, write_audio

    clips = [decode_to_array(p) for p in sorted((SPEECH / "ru").glob("*.wav"))]
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    parts, total = [], 0
    while total < minutes * 60 * SAMPLE_RATE:
        for clip in clips:
            parts += [clip, gap]
            total += len(clip) + len(gap)
    write_audio(np.concatenate(parts), target)
    return total / SAMPLE_RATE


FINISHED = ("done", "failed", "cancelled")


def pipeline_run(client, audio: Path, language: str) -> tuple[float, dict]:
    started = time.perf_counter()
    with audio.open("rb") as handle:
        response = client.post(
            "/api/v1/jobs/", files={"audio": ("bench.wav", handle)}, data={"language": language}
        )
    response.raise_for_status()
    job_id = response.json()["id"]
    # Wait the way the job page does: on the WebSocket, without polling the API.
    ws_url = f"ws://{client.base_url.host}:{client.base_url.port}/ws/jobs/{job_id}/"
    with connect(
        ws_url, additional_headers={"Authorization": client.headers["Authorization"]}
    ) as ws:
        while json.loads(ws.recv(timeout=600)).get("status") not in FINISHED:
            pass
    elapsed = time.perf_counter() - started
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    if job["status"] != "done":
        raise RuntimeError(f"job ended {job['status']}: {job['error']}")
    return elapsed, job


def raw_run(model, audio: Path, seconds: float, language: str, beam_size: int) -> float:
    """faster-whisper alone on the file, with exactly the arguments the engine passes
    (`engine.decode_arguments`: alphabet guard, fallback budget), so that the ratio measures the
    application around the model."""
    from uzwhisper.asr import engine

    arguments = engine.decode_arguments(
        model,
        language,
        engine.TranscribeOptions(language=language, beam_size=beam_size),
        duration=seconds,
        vad_filter=True,
    )
    started = time.perf_counter()
    segments, _ = model.whisper.transcribe(str(audio), **arguments)
    for _ in segments:
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the test audio")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads, both")
    parser.add_argument("--language", default="ru", choices=SUPPORTED_LANGUAGES)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import httpx
    from django.conf import settings

    from uzwhisper.asr import engine
    from uzwhisper.lib.model_bundle import assemble_bundled_model

    if str(settings.BUNDLED_MODEL_DIR) == settings.WHISPER_MODEL:
        assemble_bundled_model(settings.BUNDLED_MODEL_DIR)
    beam_size = settings.WHISPER_DEFAULT_BEAM_SIZE

    work = Path(tempfile.mkdtemp(prefix="uzwhisper-bench-"))
    audio = work / "bench.wav"
    duration = build_audio(args.minutes, audio)
    env = app_env(work, model=settings.WHISPER_MODEL, threads=args.threads)
    token = prepare_app(env, username="benchmark")
    port = free_port()
    with Processes(work, env) as processes:
        processes.start(
            [
                str(BIN / "celery"),
                "-A",
                "uzwhisper",
                "worker",
                "-Q",
                settings.CELERY_ASR_QUEUE,
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "-n",
                f"bench-{port}@%h",
            ],
            "worker.log",
        )
        processes.start(uvicorn_command(port), "server.log")
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=600,
            headers={"Authorization": f"Bearer {token}"},
        )
        for _ in range(100):  # wait until the server answers
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        model = engine.get_model(
            engine.EngineConfig(
                settings.WHISPER_MODEL, device="cpu", compute_type="int8", cpu_threads=args.threads
            )
        )
        # Warm-up: the worker loads its model, caches fill, the raw model runs once.
        pipeline_run(client, audio, args.language)
        raw_run(model, audio, duration, args.language, beam_size)

        pipeline_times, raw_times = [], []
        for run in range(args.runs):
            elapsed, job = pipeline_run(client, audio, args.language)
            pipeline_times.append(elapsed)
            raw_times.append(raw_run(model, audio, duration, args.language, beam_size))
            print(
                f"run {run + 1}: pipeline {elapsed:.2f} s (worker {job['processing_s']:.2f} s), "
                f"raw {raw_times[-1]:.2f} s",
                flush=True,
            )

    pipeline = statistics.median(pipeline_times)
    raw = statistics.median(raw_times)
    # Best-of-N filters out runs slowed by something else on the machine.
    best_ratio = min(pipeline_times) / min(raw_times)
    figures = {
        "audio_seconds": round(duration, 1),
        "threads": args.threads,
        "compute_type": "int8",
        "beam_size": beam_size,
        "language": args.language,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "pipeline_rtf": round(pipeline / duration, 4),
        "raw_rtf": round(raw / duration, 4),
        "ratio": round(pipeline / raw, 3),
        "best_of_n_ratio": round(best_ratio, 3),
        "runs": args.runs,
    }
    print(
        f"\n{duration:.0f} s of audio, {args.threads} threads, int8, beam {beam_size}, "
        f"{figures['database']} + {figures['broker']} broker, median of {args.runs}:\n"
        f"  pipeline RTF {figures['pipeline_rtf']:.4f}\n"
        f"  raw      RTF {figures['raw_rtf']:.4f}\n"
        f"  pipeline / raw = {figures['ratio']:.3f} (medians), "
        f"{figures['best_of_n_ratio']:.3f} (best of {args.runs})  (target <= 1.05)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

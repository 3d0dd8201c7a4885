"""Annotation editor benchmark on a long recording (2 hours by default).

Builds the recording once (MP3, 16 kHz mono: the test speech clips repeated with pauses,
encoded a chunk at a time), imports it as an annotation task with a machine segment every 5 s,
then measures:
  - the time to compute its waveform peaks on the server (and the memory that takes);
  - in headless Chromium, the bytes the editor page downloads before it is interactive (the
    waveform drawn with one region per segment and the first text box focused), the audio's
    share of them, and the time to interactive from navigation start.

Runs the app (uvicorn) on the embedded defaults unless DATABASE_URL etc. say otherwise.

    .venv/bin/pip install -r requirements-dev.txt   # Playwright: the README's test command has it
    .venv/bin/python scripts/benchmark_annotation.py [--hours 2] [--runs 3]
"""

# needs: requirements-dev.txt

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_support import ROOT, Processes, app_env, free_port, uvicorn_command

sys.path.insert(0, str(ROOT))
from uzwhisper.asr.languages import SAMPLE_RATE

SPEECH = ROOT / "tests" / "data" / "speech"
CACHE = ROOT / "var" / "bench"
CHROMIUM = "/usr/bin/chromium"
SEGMENT_S = 5.0


def build_recording(hours: float, target: Path) -> float:
    """Encode `hours` of speech to MP3 without holding it in memory; returns its length."""
    import av
    import numpy as np

    from uzwhisper.lib.audio import decode_to_array

    clips = [decode_to_array(p) for p in sorted(SPEECH.glob("*/*.wav"))]
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    wanted = int(hours * 3600 * SAMPLE_RATE)
    written = 0
    tmp = target.with_suffix(".part.mp3")
    with av.open(str(tmp), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = 32000
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=SAMPLE_RATE)
        while written < wanted:
            for clip in clips:
                block = np.concatenate([clip, gap])[: wanted - written]
                for offset in range(0, len(block), SAMPLE_RATE):
                    frame = av.AudioFrame.from_ndarray(
                        block[offset : offset + SAMPLE_RATE].reshape(1, -1),
                        format="flt",
                        layout="mono",
                    )
                    frame.sample_rate = SAMPLE_RATE
                    for piece in resampler.resample(frame):
                        for packet in stream.encode(piece):
                            out.mux(packet)
                written += len(block)
                if written >= wanted:
                    break
        for piece in resampler.resample(None):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.rename(target)
    return written / SAMPLE_RATE


# VmHWM, not getrusage's ru_maxrss: that survives execve, so a child would report its parent's.
PEAKS_CHILD = """
import sys
from pathlib import Path
from uzwhisper.lib.peaks import compute_peaks
compute_peaks(sys.argv[1], duration_hint_s=float(sys.argv[2]))
status = Path("/proc/self/status").read_text().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""
IMPORT_ONLY = PEAKS_CHILD.replace(
    "compute_peaks(sys.argv[1], duration_hint_s=float(sys.argv[2]))", "pass"
)


def peaks_child_rss(recording: Path, duration: float) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh process that computes the peaks of `recording`, and of one
    that only imports the code: decoding streams, so the difference stays far below the
    230 MB that two hours at 8 kHz would take."""
    import subprocess

    figures = []
    for code in (PEAKS_CHILD, IMPORT_ONLY):
        output = subprocess.run(
            [sys.executable, "-c", code, str(recording), str(duration)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures.append(round(int(output.split()[-1]) / 1024, 1))
    return figures[0], figures[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def measure_page(
    base: str, annotation_id: str, username: str, password: str, trace: Path | None = None
) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("load")

        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        urls: dict[str, str] = {}
        received: dict[str, int] = {}
        cdp.on(
            "Network.requestWillBeSent",
            lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]),
        )
        cdp.on(
            "Network.dataReceived",
            lambda e: received.__setitem__(
                e["requestId"], received.get(e["requestId"], 0) + e["encodedDataLength"]
            ),
        )
        finished: dict[str, int] = {}
        cdp.on(
            "Network.loadingFinished",
            lambda e: finished.__setitem__(e["requestId"], e["encodedDataLength"]),
        )

        if trace is not None:
            browser.start_tracing(page=page, path=str(trace))
        page.goto(f"{base}/annotation/a/{annotation_id}/", wait_until="commit")
        page.wait_for_selector("#editor[data-waveform=ready]")
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.matches('textarea.seg-text')"
        )
        interactive_ms = page.evaluate("() => performance.now()")
        if trace is not None:
            browser.stop_tracing()
        marks = page.evaluate(
            """() => Object.fromEntries(performance.getEntriesByType('mark')
                .filter((m) => m.name.startsWith('editor:'))
                .map((m) => [m.name.slice(7), Math.round(m.startTime)]))"""
        )
        regions = page.evaluate(
            """() => document.querySelector('#waveform > div').shadowRoot
                .querySelectorAll('[part~="region"]').length"""
        )
        bytes_by_request = {rid: max(received.get(rid, 0), finished.get(rid, 0)) for rid in urls}
        total = sum(bytes_by_request.values())
        audio = sum(n for rid, n in bytes_by_request.items() if "/audio/" in urls[rid])
        peaks = sum(n for rid, n in bytes_by_request.items() if "/peaks/" in urls[rid])
        # Seeking to the last minute plays from there: a range request, not the whole file.
        page.evaluate(
            """() => {
                const player = document.getElementById('player');
                player.currentTime = player.duration - 60;
                return player.play();
            }"""
        )
        page.wait_for_function(
            """() => {
                const player = document.getElementById('player');
                return player.currentTime > 0 && !player.paused;
            }"""
        )
        seek_total = sum(max(received.get(r, 0), finished.get(r, 0)) for r in urls)
        browser.close()
    return {
        "interactive_ms": round(interactive_ms),
        "marks_ms": marks,
        "bytes_before_interactive": total,
        "audio_bytes_before_interactive": audio,
        "peaks_bytes": peaks,
        "regions_drawn": regions,
        "bytes_after_seeking_to_the_end_and_playing": seek_total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trace", type=Path, help="write a Chrome trace of the first run here")
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    recording = CACHE / f"annotation-{args.hours:g}h.mp3"
    if not recording.exists():
        started = time.perf_counter()
        seconds = build_recording(args.hours, recording)
        print(f"built {recording.name}: {seconds:.0f} s in {time.perf_counter() - started:.0f} s")

    work = Path(tempfile.mkdtemp(prefix="uzwhisper-bench-annotation-"))
    env = app_env(work, model=str(ROOT / "var" / "models" / "whisper-base"), threads=2)
    os.environ.update({k: v for k, v in env.items() if k in ("UZWHISPER_VAR_DIR",)})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
    import subprocess

    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from annotation.models import Task
    from annotation.services import (
        task_compute_peaks,
        task_next_for_annotator,
        tasks_import_manifest,
    )

    manifest = work / "long.jsonl"
    manifest.write_text(json.dumps({"audio": str(recording), "text": "", "language": "ru"}) + "\n")
    [task] = tasks_import_manifest(path=manifest, created_by=None).tasks
    count = int(task.duration_s // SEGMENT_S)
    Task.objects.filter(id=task.id).update(
        machine_segments=[
            {
                "start": i * SEGMENT_S,
                "end": (i + 1) * SEGMENT_S,
                "text": f"сегмент {i}",
                "speaker": "A",
                "untranscribable": False,
                "words": [
                    {"text": "сегмент", "language": "ru"},
                    {"text": str(i), "language": "other"},
                ],
            }
            for i in range(count)
        ]
    )
    started = time.perf_counter()
    task = task_compute_peaks(task_id=task.id)
    peaks_s = time.perf_counter() - started
    assert task is not None
    assert task.peaks, task.peaks_error
    peaks_rss_mib, import_rss_mib = peaks_child_rss(recording, task.duration_s)

    password = "bench-pass-1"
    user = get_user_model().objects.create_superuser(username="bench", email="", password=password)
    annotation = task_next_for_annotator(user=user)
    assert annotation is not None

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runs = []
    with Processes(work, env) as processes:
        processes.start(uvicorn_command(port), "uvicorn.log")
        wait_http(f"{base}/healthz")
        for run in range(args.runs):
            trace = args.trace if run == 0 else None
            runs.append(measure_page(base, str(annotation.id), "bench", password, trace))
    result = {
        "recording": recording.name,
        "duration_s": task.duration_s,
        "file_bytes": recording.stat().st_size,
        "segments": count,
        "peaks_seconds": round(peaks_s, 1),
        "peaks_process_max_rss_mib": peaks_rss_mib,
        "import_only_max_rss_mib": import_rss_mib,
        "peaks_per_second": task.peaks_per_second,
        "peaks_file_bytes": task.peaks.size,
        "interactive_ms_median": statistics.median(r["interactive_ms"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

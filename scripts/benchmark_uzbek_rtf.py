"""Real-time factor of forced-Uzbek decoding on the Uzbek test clips, clip by clip.

    .venv/bin/python scripts/benchmark_uzbek_rtf.py [--manifest PATH] [--threads 2] [--runs 1]

Zero-shot Whisper base cannot write Uzbek, so most windows fall back through every temperature:
this measures what that costs per clip (decode seconds / audio seconds), how much of each clip
came back as text, and how much was marked "speech, not transcribed".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
from uzwhisper.asr.languages import SAMPLE_RATE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_manifest = ROOT.parent / "shared" / "testdata" / "speech" / "manifest.jsonl"
    if not default_manifest.exists():
        default_manifest = ROOT / "tests" / "data" / "speech" / "manifest.jsonl"
    parser.add_argument("--manifest", type=Path, default=default_manifest)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="decodes per clip (median reported)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from uzwhisper.asr import engine
    from uzwhisper.lib.audio import decode_to_array
    from uzwhisper.lib.metrics import aggregate, score_utterance

    model = engine.get_model(
        engine.EngineConfig(model_path=settings.WHISPER_MODEL, cpu_threads=args.threads)
    )
    rows = [json.loads(line) for line in args.manifest.read_text(encoding="utf-8").splitlines()]
    uzbek = [row for row in rows if row.get("language") == "uz"]
    print(
        f"{len(uzbek)} Uzbek clips from {args.manifest}, {args.threads} threads, {model.model_id}"
    )
    print(f"{'clip':32} {'audio s':>7} {'decode s':>8} {'RTF':>5} {'untr. s':>7} {'CER':>5}  text")
    total_audio = total_decode = 0.0
    rtfs = []
    counts = []
    for row in uzbek:
        audio = decode_to_array(args.manifest.parent / row["audio"])
        duration = len(audio) / SAMPLE_RATE
        times, segments = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = engine.transcribe(model, audio, engine.TranscribeOptions(language="uz"))
            segments = list(result.segments)
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        untranscribed = sum(s.end - s.start for s in segments if getattr(s, "untranscribed", False))
        text = " ".join(s.text for s in segments if s.text)
        score = score_utterance(row["text"], text, language="uz")
        counts.append(score.counts)
        total_audio += duration
        total_decode += seconds
        rtfs.append(seconds / duration)
        print(
            f"{Path(row['audio']).name[:32]:32} {duration:7.1f} {seconds:8.1f} "
            f"{seconds / duration:5.2f} {untranscribed:7.1f} {score.cer:5.0%}  {text[:50]!r}"
        )
    overall = total_decode / total_audio
    print(f"total: {total_audio:.1f} s audio in {total_decode:.1f} s, RTF {overall:.2f}")
    print(
        f"per clip: min {min(rtfs):.2f}, median {statistics.median(rtfs):.2f}, max {max(rtfs):.2f}"
    )
    total = aggregate(counts)
    print(f"corpus WER {total.wer or 0:.1%}, CER {total.cer or 0:.1%} (forced uz)")


if __name__ == "__main__":
    main()

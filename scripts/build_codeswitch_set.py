"""Build a code-switched (Uzbek ↔ Russian) speech set by joining real clips.

Each output clip is a real Uzbek clip and a real Russian clip back to back, with a short pause
between; every reference word's language is known (see `training/codeswitch_set.py`).

    .venv/bin/python scripts/build_codeswitch_set.py [--speech DIR] [--out DIR] [--pairs N]
    .venv/bin/python manage.py evaluate --manifest var/codeswitch/manifest.jsonl --language mixed

The source defaults to ../shared/testdata/speech when it exists, else tests/data/speech.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.codeswitch_set import SourceClipsMissing, build, default_speech_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speech", type=Path, default=default_speech_dir())
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "codeswitch")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--gap", type=float, default=0.4, help="pause between parts, seconds")
    args = parser.parse_args(argv)
    try:
        rows = build(speech_dir=args.speech, out_dir=args.out, pairs=args.pairs, gap_s=args.gap)
    except SourceClipsMissing as exc:
        raise SystemExit(str(exc)) from exc
    total = sum(row["duration_s"] for row in rows)
    print(f"{len(rows)} code-switched clips ({total:.1f} s) from {args.speech}")
    print(f"manifest: {args.out / 'manifest.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

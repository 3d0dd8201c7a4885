"""What conversion alone does to a checkpoint's WER: one transformers checkpoint scored as it is
(transformers, float32), converted to CTranslate2 float32 and to int8, all with the same greedy
decode and the shared WER/CER code the fine-tune gate uses, Uzbek and Russian apart.

    .venv/bin/python manage.py rebuild_base_checkpoint
    .venv/bin/python scripts/benchmark_conversion.py [--checkpoint var/models/whisper-base/hf]
        [--manifest ../shared/testdata/speech/manifest.jsonl]

If the two float32 formats agree and int8 differs, the gate's delta is quantisation, not the
decoders. Prints one line per format and writes nothing but a temporary conversion.
"""

# needs: requirements-dev.txt

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")


def main(argv: list[str] | None = None) -> int:
    import django

    django.setup()
    from django.conf import settings

    from training.finetune import convert
    from training.finetune.scoring import FormatScore
    from training.finetune.spec import read_utterances
    from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

    shared = ROOT.parent / "shared" / "testdata" / "speech" / "manifest.jsonl"
    bundled = ROOT / "tests" / "data" / "speech" / "manifest.jsonl"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=settings.BUNDLED_MODEL_DIR / "hf")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=shared if shared.exists() else bundled,
    )
    parser.add_argument("--max-new-tokens", type=int, default=225)
    args = parser.parse_args(argv)
    if not (args.checkpoint / "config.json").exists():
        parser.error(
            f"{args.checkpoint} is no transformers checkpoint: "
            "run `manage.py rebuild_base_checkpoint` first"
        )

    rows = [r for r in read_utterances(args.manifest) if r.language in SUPPORTED_LANGUAGES]
    features = convert.shared_features()
    limit = args.max_new_tokens
    print(f"{len(rows)} clips from {args.manifest}; checkpoint {args.checkpoint}")

    def report(score: FormatScore, seconds: float) -> None:
        by_language = {
            row["value"]: f"{row['wer']:.1%} / {row['cer']:.1%}"
            for row in score.slices
            if row["dimension"] == "language"
        }
        print(
            f"{score.name:<22} WER {score.wer:.1%}  CER {score.cer:.1%}  "
            + "  ".join(f"{lang}: {figures}" for lang, figures in sorted(by_language.items()))
            + f"  ({seconds:.0f} s)",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="uzwhisper-conversion-") as folder:
        float32_dir = convert.convert_ctranslate2(
            args.checkpoint, Path(folder) / "float32", quantization="float32"
        )
        for name, model_dir, compute_type in (
            ("ctranslate2_float32", float32_dir, "float32"),
            ("ctranslate2_int8", float32_dir, "int8"),
        ):
            started = time.perf_counter()
            score = convert.score_ctranslate2(
                model_dir, rows, limit, features, compute_type=compute_type, name=name
            )
            report(score, time.perf_counter() - started)
    started = time.perf_counter()
    report(
        convert.score_checkpoint(args.checkpoint, rows, limit, features),
        time.perf_counter() - started,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

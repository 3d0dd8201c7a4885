"""Quality benchmark: WER and CER of a Whisper model on Uzbek, Russian and code-switched speech,
and how often the word tagger's language tags match the known language of each word.

Writes the generated page `docs/benchmarks.md` and the same figures as `docs/benchmarks.json`;
every figure on the page comes from the run that wrote it.

    .venv/bin/python scripts/benchmark_quality.py [--speech DIR] [--out DIR] [--pairs N]
                                                  [--limit N] [--model DIR] [--seed N]
                                                  [--store] [--work DIR]

Steps:
1. Build the code-switched set (`training.codeswitch_set`, as `scripts/build_codeswitch_set.py`
   does: a real Uzbek and a real Russian clip joined, every reference word's language known)
   into a work folder, from ../shared/testdata/speech when it exists, else tests/data/speech.
2. Evaluate with the code `manage.py evaluate` runs (`training.services.evaluation_run_execute`),
   greedy: the monolingual Uzbek and Russian clips with each row's own language forced, then
   the code-switched set twice, with `auto` and with `mixed`.
3. Word tags on the code-switched set (`training.codeswitch_eval`): `uzwhisper.lib.langid.tag_words`
   on the reference words against their known languages, and on the hypothesis words, aligned
   to the reference with jiwer, against the known language of the reference word each one
   stands for.
4. The figures (`training.benchmarks.quality_figures`) go to the JSON file and the page
   (`training.reports.benchmark_markdown`).

Runs are stored in a throwaway SQLite database in the work folder unless `--store` is given
(then the configured database, which must be migrated, keeps them for the web app). Called from
a process where Django is already set up (the tests), it uses that process's database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")

from training.benchmarks import (  # noqa: E402
    CODESWITCH_MODES,
    MONOLINGUAL_RUN,
    Evaluated,
    codeswitch_run,
    host_facts,
    quality_figures,
)
from training.codeswitch_set import SourceClipsMissing, build, default_speech_dir  # noqa: E402
from training.reports import benchmark_markdown, percent  # noqa: E402
from uzwhisper.asr.languages import SUPPORTED_LANGUAGES  # noqa: E402

DOCS = ROOT / "docs"
BEAM_SIZE = 1  # greedy, as `evaluate` runs by default
PACKAGES = ("faster-whisper", "ctranslate2", "jiwer")
THROWAWAY_DATABASE = "a throwaway SQLite database"


# --- set-up ----------------------------------------------------------------------------------


def setup_django(work: Path, *, store: bool) -> str:
    """Make the ORM usable; returns which database the runs go to.

    A caller that has set Django up already (pytest-django) keeps its database. Otherwise the
    runs go to a fresh SQLite file in `work`, migrated here, unless `store` asks for the
    configured database.
    """
    from django.apps import apps

    if apps.ready:
        return "the caller's database"
    if not store:
        os.environ["DATABASE_URL"] = f"sqlite:///{work / 'benchmark.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    if store:
        return "the configured database"
    call_command("migrate", verbosity=0, interactive=False)
    return THROWAWAY_DATABASE


def write_monolingual_manifest(speech_dir: Path, target: Path, *, limit: int | None) -> int:
    """Copy the Uzbek and Russian rows of `speech_dir/manifest.jsonl` (at most `limit` of each)
    into `target`, their audio paths rewritten relative to it. Returns the number of rows."""
    kept: list[dict[str, Any]] = []
    per_language: Counter[str] = Counter()
    source = speech_dir / "manifest.jsonl"
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            print(f"{source}:{number}: not valid JSON, left out", file=sys.stderr)
            continue
        language = row.get("language") if isinstance(row, dict) else None
        if language not in SUPPORTED_LANGUAGES or row.get("code_switched"):
            continue
        if limit is not None and per_language[language] >= limit:
            continue
        per_language[language] += 1
        audio = os.path.relpath((speech_dir / row["audio"]).resolve(), target.parent.resolve())
        kept.append({**row, "audio": audio})
    target.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8"
    )
    return len(kept)


# --- evaluation --------------------------------------------------------------------------------


def evaluate(
    manifest_path: Path, *, mode: str, model_path: str, reports: Path, seed: int
) -> Evaluated:
    import ctranslate2

    from training.selectors import evaluation_run_result
    from training.services import evaluation_run_execute
    from uzwhisper.lib.manifests import read_manifest

    manifest = read_manifest(manifest_path)
    for skipped in manifest.skipped:
        print(f"skipped {skipped.message(manifest.name)}", file=sys.stderr)
    print(f"evaluating {manifest.name} ({len(manifest.rows)} clips, {mode})…", file=sys.stderr)
    # Whisper's temperature fallback samples. CTranslate2 seeds a thread's generator when that
    # thread first samples, so the seed takes hold before the first run only: the script as a
    # whole repeats its figures, and each run's also depend on the runs before it.
    ctranslate2.set_random_seed(seed)
    started = time.perf_counter()
    run = evaluation_run_execute(
        manifest=manifest,
        model_path=model_path,
        language_mode=mode,
        beam_size=BEAM_SIZE,
        out_dir=reports,
    )
    wall = time.perf_counter() - started
    result = evaluation_run_result(run)
    print(f"  WER {percent(result['wer'])}, CER {percent(result['cer'])}", file=sys.stderr)
    return Evaluated(result, dict(enumerate(manifest.rows)), wall)


# --- main ----------------------------------------------------------------------------------------


def _relative(path: Path) -> str:
    """`path` relative to the repository when it is near it (../shared/...), else as given."""
    relative = os.path.relpath(path.resolve(), ROOT)
    return relative if relative.count("..") <= 1 else str(path)


def benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    database = setup_django(work, store=args.store)
    from django.conf import settings

    from transcription.serving import engine_config
    from uzwhisper.asr import engine

    model_path = str(args.model or settings.WHISPER_MODEL)
    reports = work / "reports"
    speech_dir = args.speech.resolve()

    codeswitch_dir = work / "codeswitch"
    try:
        cs_rows = build(
            speech_dir=speech_dir, out_dir=codeswitch_dir, pairs=args.pairs, gap_s=args.gap
        )
    except SourceClipsMissing as exc:
        raise SystemExit(str(exc)) from exc
    monolingual = work / "monolingual.jsonl"
    write_monolingual_manifest(speech_dir, monolingual, limit=args.limit)

    # Load the model once, so no run's time includes the load.
    model = engine.get_model(dataclasses.replace(engine_config(), model_path=model_path))

    runs = {
        MONOLINGUAL_RUN: evaluate(
            monolingual, mode="manifest", model_path=model_path, reports=reports, seed=args.seed
        )
    }
    for mode in CODESWITCH_MODES:
        runs[codeswitch_run(mode)] = evaluate(
            codeswitch_dir / "manifest.jsonl",
            mode=mode,
            model_path=model_path,
            reports=reports,
            seed=args.seed,
        )
    figures = quality_figures(runs, codeswitch_rows=cs_rows, gap_s=args.gap)

    if database == THROWAWAY_DATABASE:
        from django.db import connections

        connections.close_all()  # before the work folder, and the database in it, go
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": host_facts(PACKAGES),
        "model": {
            "id": model.model_id,
            "path": _relative(Path(model_path)),
            "checksum": model.checksum,
            "device": model.device,
            "compute_type": model.compute_type,
            "cpu_threads": settings.WHISPER_CPU_THREADS,
            "load_seconds": model.load_seconds,
        },
        "beam_size": BEAM_SIZE,
        "seed": args.seed,
        "database": database,
        "speech_dir": _relative(speech_dir),
        "limit_per_language": args.limit,
        **figures,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speech",
        type=Path,
        default=default_speech_dir(),
        help="folder with manifest.jsonl and the uz/ru clips (default: ../shared/testdata/speech "
        "when present, else tests/data/speech)",
    )
    parser.add_argument("--out", type=Path, default=DOCS, help="where benchmarks.md/.json go")
    parser.add_argument(
        "--model",
        default="",
        help="CTranslate2 Whisper directory (default: WHISPER_MODEL, the bundled model)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="code-switched clips (default: twice the smaller of the uz and ru clip counts)",
    )
    parser.add_argument("--gap", type=float, default=0.4, help="pause between joined parts, s")
    parser.add_argument(
        "--limit", type=int, default=None, help="at most N monolingual clips per language"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the temperature fallback's sampling"
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="keep the runs in the configured database (for the web app)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep the built set, database and per-run reports here",
    )
    args = parser.parse_args(argv)
    for name in ("pairs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        figures = benchmark(args, args.work.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="uzwhisper-benchmark-") as work:
            figures = benchmark(args, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / "benchmarks.md").write_text(benchmark_markdown(figures), encoding="utf-8")
    print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

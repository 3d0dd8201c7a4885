"""Figures of the quality benchmark, from evaluation runs. Django-free.

The benchmark (`scripts/benchmark_quality.py`) evaluates a model on monolingual Uzbek and Russian
clips with each clip's language forced, and on a code-switched set (`training.codeswitch_set`)
with `auto` and with `mixed`. These functions turn those runs into the figures it writes as JSON
and renders as a page (`training.reports.benchmark_markdown`); a training run that evaluates the
same sets can report them alike.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

from .codeswitch_eval import hypothesis_words, reference_tag_agreement

CODESWITCH_MODES = ("auto", "mixed")
MONOLINGUAL_RUN = "monolingual"


def codeswitch_run(mode: str) -> str:
    """The name of the code-switched set's run decoded with `mode` in the figures."""
    return f"codeswitch_{mode}"


@dataclass
class Evaluated:
    """One evaluation run: its result dictionary (as `evaluate` writes it as JSON: see
    `training.selectors.evaluation_run_result`), the manifest rows by index, and the wall time
    the run took."""

    result: dict[str, Any]
    rows: dict[int, Any]
    wall_seconds: float


def find_slice(result: Mapping[str, Any], dimension: str, value: str) -> dict[str, Any] | None:
    """The result's slice `dimension`=`value`, or None when the run has none."""
    return next(
        (s for s in result["slices"] if s["dimension"] == dimension and s["value"] == value), None
    )


def run_summary(evaluated: Evaluated) -> dict[str, Any]:
    result = evaluated.result
    decoded = Counter(item["language_decoded"] or "?" for item in result["items"])
    return {
        "run_id": result["run_id"],
        "manifest": result["manifest"],
        "language_mode": result["language_mode"],
        "utterances": result["utterances"],
        "skipped": result["skipped"],
        "audio_seconds": result["audio_seconds"],
        "decode_seconds": result["processing_seconds"],
        "real_time_factor": result["real_time_factor"],
        "wall_seconds": evaluated.wall_seconds,
        "wer": result["wer"],
        "cer": result["cer"],
        "decoded_languages": dict(sorted(decoded.items())),
        "slices": result["slices"],
    }


def slice_row(
    name: str, decoding: str, evaluated: Evaluated, found: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """One row of the WER/CER table; None when the run has no such slice."""
    if found is None:
        return None
    if found["dimension"] == "language":
        items = [i for i in evaluated.result["items"] if i["language"] == found["value"]]
    else:
        items = evaluated.result["items"]
    return {
        "slice": name,
        "decoding": decoding,
        "run_id": evaluated.result["run_id"],
        "audio_seconds": sum(item["duration_s"] for item in items),
        **{key: found[key] for key in found if key not in ("dimension", "value")},
    }


def wer_table(runs: Mapping[str, Evaluated]) -> list[dict[str, Any]]:
    """WER and CER rows: each language of the monolingual run (forced), then the code-switched
    set with each mode. A run without the slice has no row."""
    mono = runs[MONOLINGUAL_RUN]
    table = [
        slice_row(
            language, f"forced {language}", mono, find_slice(mono.result, "language", language)
        )
        for language in SUPPORTED_LANGUAGES
    ]
    for mode in CODESWITCH_MODES:
        run = runs[codeswitch_run(mode)]
        table.append(
            slice_row("code-switched", mode, run, find_slice(run.result, "overall", "all"))
        )
    return [row for row in table if row is not None]


def word_tag_figures(runs: Mapping[str, Evaluated]) -> dict[str, Any]:
    """Word tags on the code-switched set: the reference words (once: every mode's run has the
    same rows) and each mode's hypothesis words with its edits by part."""
    reference, reference_left_out = reference_tag_agreement(
        list(runs[codeswitch_run(CODESWITCH_MODES[0])].rows.values())
    )
    hypothesis: dict[str, Any] = {}
    for mode in CODESWITCH_MODES:
        run = runs[codeswitch_run(mode)]
        words, left_out = hypothesis_words(run.result["items"], run.rows)
        hypothesis[mode] = {**words.as_dict(), "rows_left_out": left_out}
    return {
        "reference": {**reference.as_dict(), "rows_left_out": reference_left_out},
        "hypothesis": hypothesis,
    }


def quality_figures(
    runs: Mapping[str, Evaluated], *, codeswitch_rows: Sequence[Mapping[str, Any]], gap_s: float
) -> dict[str, Any]:
    """What the runs say: the code-switched set, the WER table, a summary of each run, word
    tags, and each code-switched clip by mode. `runs` holds `MONOLINGUAL_RUN` and
    `codeswitch_run(mode)` for each of CODESWITCH_MODES; `codeswitch_rows` are the set's
    manifest rows as `training.codeswitch_set.build` returned them."""
    return {
        "codeswitch_set": {
            "clips": len(codeswitch_rows),
            "audio_seconds": sum(row["duration_s"] for row in codeswitch_rows),
            "gap_seconds": gap_s,
        },
        "wer_table": wer_table(runs),
        "runs": {name: run_summary(run) for name, run in runs.items()},
        "word_tags": word_tag_figures(runs),
        "clips": {
            mode: [
                {
                    "audio": item["audio"],
                    "language_decoded": item["language_decoded"],
                    "wer": item["wer"],
                    "cer": item["cer"],
                    "reference": item["reference"],
                    "hypothesis": item["hypothesis"],
                }
                for item in runs[codeswitch_run(mode)].result["items"]
            ]
            for mode in CODESWITCH_MODES
        },
    }


def host_facts(packages: Iterable[str]) -> dict[str, Any]:
    """The machine a benchmark ran on: cores, CPU model, platform, Python, and the version of
    each of `packages` (None when it is not installed)."""
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model or platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }

"""Evaluation results of the quality benchmark's runs, made by hand: no model, no database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from training.benchmarks import Evaluated

UZ_ROW = SimpleNamespace(text="salom dunyo", word_languages=["uz", "uz"])
RU_ROW = SimpleNamespace(text="привет мир", word_languages=["ru", "ru"])
CS_ROW = SimpleNamespace(text="salom dunyo привет мир", word_languages=["uz", "uz", "ru", "ru"])


def _slice(dimension: str, value: str, *, words: int, errors: int) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "value": value,
        "utterances": 1,
        "ref_words": words,
        "word_errors": errors,
        "substitutions": errors,
        "deletions": 0,
        "insertions": 0,
        "ref_chars": 10 * words,
        "char_errors": errors,
        "wer": errors / words,
        "cer": errors / (10 * words),
    }


def _item(index: int, language: str, hypothesis: str, **extra: Any) -> dict[str, Any]:
    return {
        "index": index,
        "audio": f"clip-{index}.wav",
        "language": language,
        "language_decoded": language,
        "duration_s": 2.5,
        "wer": 0.0,
        "cer": 0.0,
        "reference": "",
        "hypothesis": hypothesis,
        **extra,
    }


def _run(run_id: str, mode: str, items: list, slices: list, rows: dict) -> Evaluated:
    result = {
        "run_id": run_id,
        "manifest": "manifest.jsonl",
        "language_mode": mode,
        "utterances": len(items),
        "skipped": [],
        "audio_seconds": 2.5 * len(items),
        "processing_seconds": 1.0,
        "real_time_factor": 1.0 / (2.5 * len(items)),
        "wer": slices[0]["wer"],
        "cer": slices[0]["cer"],
        "slices": slices,
        "items": items,
    }
    return Evaluated(result, rows, wall_seconds=1.5)


def benchmark_runs() -> dict[str, Evaluated]:
    """The benchmark's three runs on one clip each: the monolingual run misses one Uzbek word,
    `auto` loses the Russian part of the code-switched clip, `mixed` gets it all."""
    monolingual = _run(
        "mono",
        "manifest",
        [_item(0, "uz", "salom"), _item(1, "ru", "привет мир")],
        [
            _slice("overall", "all", words=4, errors=1),
            _slice("language", "uz", words=2, errors=1),
            _slice("language", "ru", words=2, errors=0),
        ],
        {0: UZ_ROW, 1: RU_ROW},
    )
    auto = _run(
        "auto",
        "auto",
        [_item(0, "mixed", "salom dunyo", language_decoded="uz")],
        [_slice("overall", "all", words=4, errors=2)],
        {0: CS_ROW},
    )
    mixed = _run(
        "mixed",
        "mixed",
        [_item(0, "mixed", CS_ROW.text, language_decoded=None)],
        [_slice("overall", "all", words=4, errors=0)],
        {0: CS_ROW},
    )
    return {"monolingual": monolingual, "codeswitch_auto": auto, "codeswitch_mixed": mixed}

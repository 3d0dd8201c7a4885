"""The quality benchmark's figures from evaluation results, without a model or a database."""

from __future__ import annotations

import os

import pytest

from tests.training.benchmark_runs import CS_ROW, benchmark_runs
from training.benchmarks import (
    Evaluated,
    find_slice,
    host_facts,
    quality_figures,
    run_summary,
    slice_row,
    wer_table,
)


@pytest.fixture
def runs() -> dict[str, Evaluated]:
    return benchmark_runs()


def test_find_slice(runs):
    result = runs["monolingual"].result
    assert find_slice(result, "language", "ru")["ref_words"] == 2
    assert find_slice(result, "language", "mixed") is None


def test_a_language_slice_row_adds_up_the_audio_of_that_language_only(runs):
    mono = runs["monolingual"]
    row = slice_row("uz", "forced uz", mono, find_slice(mono.result, "language", "uz"))

    assert row["slice"] == "uz"
    assert row["decoding"] == "forced uz"
    assert row["run_id"] == "mono"
    assert row["audio_seconds"] == 2.5  # one of the two clips
    assert row["ref_words"] == 2
    assert "dimension" not in row
    overall = slice_row("all", "x", mono, find_slice(mono.result, "overall", "all"))
    assert overall["audio_seconds"] == 5.0
    assert slice_row("none", "x", mono, None) is None


def test_the_run_summary_counts_clips_by_decoded_language(runs):
    summary = run_summary(runs["codeswitch_mixed"])

    assert summary["decoded_languages"] == {"?": 1}  # none reported
    assert summary["wall_seconds"] == 1.5
    assert summary["decode_seconds"] == 1.0
    assert summary["wer"] == 0.0
    assert run_summary(runs["monolingual"])["decoded_languages"] == {"ru": 1, "uz": 1}


def test_the_wer_table_has_each_language_then_each_mode_and_skips_missing_slices(runs):
    assert [(r["slice"], r["decoding"]) for r in wer_table(runs)] == [
        ("uz", "forced uz"),
        ("ru", "forced ru"),
        ("code-switched", "auto"),
        ("code-switched", "mixed"),
    ]
    runs["monolingual"].result["slices"] = [
        s for s in runs["monolingual"].result["slices"] if s["value"] != "ru"
    ]
    assert [r["slice"] for r in wer_table(runs)] == ["uz", "code-switched", "code-switched"]


def test_quality_figures(runs):
    rows = [{"duration_s": 3.0}, {"duration_s": 4.5}]

    figures = quality_figures(runs, codeswitch_rows=rows, gap_s=0.4)

    assert list(figures) == ["codeswitch_set", "wer_table", "runs", "word_tags", "clips"]
    assert figures["codeswitch_set"] == {"clips": 2, "audio_seconds": 7.5, "gap_seconds": 0.4}
    assert list(figures["runs"]) == ["monolingual", "codeswitch_auto", "codeswitch_mixed"]
    reference = figures["word_tags"]["reference"]
    assert reference["words_compared"] == 4
    assert reference["rows_left_out"] == 0
    auto = figures["word_tags"]["hypothesis"]["auto"]
    assert auto["by_part"]["ru"]["deletions"] == 2  # auto lost the Russian part
    assert auto["rows_left_out"] == 0
    assert figures["word_tags"]["hypothesis"]["mixed"]["by_part"]["ru"]["hits"] == 2
    assert figures["clips"]["mixed"] == [
        {
            "audio": "clip-0.wav",
            "language_decoded": None,
            "wer": 0.0,
            "cer": 0.0,
            "reference": "",
            "hypothesis": CS_ROW.text,
        }
    ]


def test_host_facts():
    facts = host_facts(["jiwer", "no-such-package-here"])

    assert facts["cpu_count"] == os.cpu_count()
    assert facts["cpu_model"]
    assert facts["python"].count(".") == 2
    assert facts["packages"]["jiwer"]
    assert facts["packages"]["no-such-package-here"] is None

"""The quality benchmark's page, from figures made by hand (the whole benchmark with the model
is tested in test_benchmark_quality.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.training.benchmark_runs import benchmark_runs
from training.benchmarks import quality_figures
from training.reports import benchmark_markdown


@pytest.fixture
def figures() -> dict[str, Any]:
    runs = benchmark_runs()
    return {
        "generated_at": "2026-12-01 10:00 UTC",
        "machine": {
            "cpu_count": 2,
            "cpu_model": "Test CPU",
            "platform": "Linux",
            "python": "3.11.2",
            "packages": {"jiwer": "4.0.0"},
        },
        "model": {
            "id": "whisper-base@abc",
            "device": "cpu",
            "compute_type": "int8",
            "load_seconds": 0.5,
        },
        "beam_size": 1,
        "seed": 0,
        "speech_dir": "tests/data/speech",
        **quality_figures(runs, codeswitch_rows=[{"duration_s": 5.4}], gap_s=0.4),
    }


def test_the_page_shows_the_tables_and_words_what_they_mean(figures):
    page = benchmark_markdown(figures)

    assert page.startswith("# Benchmarks: recognition quality\n")
    assert "- Machine: 2 cores (Test CPU), Linux, Python 3.11.2, jiwer 4.0.0" in page
    assert "2 monolingual clips; code-switched set of 1 clip (5.4 s)" in page
    assert "| uz | forced uz | 1 | 2.5 s | 2 | 1 (1/0/0) | 50.0% | 5.0% |" in page
    assert "| WER | 50.0% | 0.0% |" in page
    assert "| WER of the Russian parts (S/D/I) | 100.0% (0/2/0) | 0.0% (0/0/0) |" in page
    assert "| clips by decoded language | uz 1 | ? 1 |" in page
    assert "| `clip-0.wav` | 0.0% (uz) | 0.0% (None) |" in page
    assert "| monolingual | each clip's language | 2 | 5.0 s | 1.0 s | 0.200 | 1.5 s |" in page
    assert "Uzbek is the weak language: WER 50.0% against 0.0% for Russian" in page
    assert (
        "`mixed` beats `auto` on the code-switched set by 50.0 WER points: 0.0% against 50.0%."
    ) in page
    assert "(2 reference words deleted against 0)" in page
    assert "Lines the evaluation skipped" not in page
    assert page.endswith("few minutes on 2 cores).\n")


def test_table_cells_are_escaped_and_skipped_lines_listed(figures):
    figures["clips"]["auto"][0]["audio"] = "a|b.wav"
    figures["runs"]["monolingual"]["skipped"] = [
        {"line": 3, "code": "missing_audio", "reason": "audio file not found: x|y.wav"}
    ]

    page = benchmark_markdown(figures)

    assert "| `a\\|b.wav` | 0.0% (uz) | — |" in page
    assert "- monolingual, line 3 (missing_audio): audio file not found: x\\|y.wav" in page

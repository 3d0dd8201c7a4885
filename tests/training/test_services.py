"""Storing evaluation runs: aggregation from stored items, language choice, reports."""

from __future__ import annotations

import json

import pytest

from training.models import EvaluationRun
from training.reports import safe_file_name
from training.selectors import evaluation_run_result
from training.services import (
    engine_accepts_mixed,
    evaluation_run_write_reports,
    requested_language,
)
from transcription import engine

from .helpers import make_run

pytestmark = pytest.mark.django_db


def test_finished_run_holds_corpus_level_results_by_slice():
    # ru: 6 words, all right after normalising; uz: 8 words, 3 said (5 deletions).
    run = make_run()
    assert run.status == EvaluationRun.Status.DONE
    assert run.utterances == 2
    assert run.wer == pytest.approx(5 / 14)
    slices = {(s["dimension"], s["value"]): s for s in run.slices}
    assert slices["overall", "all"]["word_errors"] == 5
    assert slices["language", "ru"]["wer"] == 0.0
    assert slices["language", "uz"]["wer"] == pytest.approx(5 / 8)
    assert slices["language", "uz"]["deletions"] == 5
    assert slices["code_switched", "no"]["utterances"] == 2
    assert slices["source", "Asterisk prompts"]["utterances"] == 1
    assert run.skipped == [
        {"line": 2, "code": "missing_audio", "reason": "audio file not found: uz/gone.wav"}
    ]
    item = run.items.get(line=3)
    assert item.reference_normalised == "ammo boshqa bir sabab bilan hayvon deya olmayman"
    assert item.hypothesis_normalised == "ammo boshqa bir"
    assert (item.ref_words, item.deletions, item.wer) == (8, 5, 5 / 8)


def test_reports_are_written_and_agree_with_the_run(tmp_path):
    run = evaluation_run_write_reports(run=make_run(), out_dir=tmp_path)
    result = json.loads((tmp_path / run.json_path.rsplit("/", 1)[-1]).read_text())
    assert result == json.loads(json.dumps(evaluation_run_result(run)))
    assert result["wer"] == run.wer
    assert [i["line"] for i in result["items"]] == [1, 3]
    report = (tmp_path / run.report_path.rsplit("/", 1)[-1]).read_text()
    assert report == run.report_markdown
    assert "| language=uz | 1 | 8 | 5 (0/5/0) | 62.5% |" in report
    chart_name = run.report_path.rsplit("/", 1)[-1].replace(".md", ".svg")
    assert f"![WER by slice]({chart_name})" in report
    svg = (tmp_path / chart_name).read_text()
    assert svg.startswith("<svg")
    assert "language=uz" in svg
    assert "62.5%" in svg
    assert "line 2 (missing_audio)" in report


@pytest.mark.parametrize(
    ("mode", "row_language", "supported", "expected"),
    [
        ("manifest", "ru", False, "ru"),
        ("manifest", "uz", False, "uz"),
        ("manifest", "mixed", False, "auto"),
        ("manifest", "mixed", True, "mixed"),
        ("auto", "ru", False, "auto"),
        ("uz", "ru", False, "uz"),
        ("mixed", "uz", False, "auto"),
        ("mixed", "uz", True, "mixed"),
    ],
)
def test_requested_language(mode, row_language, supported, expected):
    assert requested_language(mode, row_language, mixed_supported=supported) == expected


def test_mixed_is_passed_through_once_the_engine_declares_it(monkeypatch):
    declared = engine_accepts_mixed()
    monkeypatch.setattr(engine, "LANGUAGE_MODES", ("auto", "uz", "ru", "mixed"), raising=False)
    assert engine_accepts_mixed()
    monkeypatch.undo()
    assert engine_accepts_mixed() == declared


def test_report_files_are_named_after_the_run(tmp_path):
    run = make_run(manifest_name="manifest.jsonl")  # /data/manifest.jsonl: named "data"
    assert run.name == "data"
    run = evaluation_run_write_reports(run=run, out_dir=tmp_path)
    stem = f"data-{run.created_at:%Y%m%d-%H%M%S}-{run.id.hex[:8]}"
    assert {p.name for p in tmp_path.iterdir()} == {f"{stem}.json", f"{stem}.md", f"{stem}.svg"}
    assert run.report_markdown.startswith("# Evaluation data: ")
    assert json.loads((tmp_path / f"{stem}.json").read_text())["name"] == "data"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ru dev/v2", "ru-dev-v2"),
        ("../../etc/passwd", "etc-passwd"),
        ('ўзбек "тест"', "ўзбек-тест"),
        ("///", "evaluation"),
    ],
)
def test_a_run_name_becomes_one_safe_file_name(name, expected):
    assert safe_file_name(name) == expected

"""Storing evaluation runs: aggregation from stored items, language choice, reports."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import EvaluationRunFactory
from tests.support import CLIPS
from training import services
from training.models import EvaluationRun
from training.reports import safe_file_name
from training.selectors import (
    EVALUATION_STALE_AFTER,
    evaluation_run_list,
    evaluation_run_result,
    evaluation_runs_stale,
)
from training.services import (
    RunStop,
    StopRequested,
    evaluation_run_execute,
    evaluation_run_heartbeat,
    evaluation_run_mark_stopped,
    evaluation_run_write_reports,
    evaluation_runs_stop_stale,
    requested_language,
)
from uzwhisper.lib.manifests import read_manifest

from .helpers import make_run, make_run_running, write_manifest

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
    ("mode", "row_language", "expected"),
    [
        ("manifest", "ru", "ru"),
        ("manifest", "uz", "uz"),
        ("manifest", "mixed", "mixed"),
        ("auto", "ru", "auto"),
        ("uz", "ru", "uz"),
        ("mixed", "uz", "mixed"),
    ],
)
def test_requested_language(mode, row_language, expected):
    assert requested_language(mode, row_language) == expected


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


def test_a_run_silent_past_the_limit_is_stale_and_is_stopped_with_its_clips():
    dead = make_run_running(heartbeat_age=EVALUATION_STALE_AFTER + timedelta(seconds=5))
    alive = make_run_running(heartbeat_age=EVALUATION_STALE_AFTER - timedelta(seconds=30))
    finished = EvaluationRunFactory(done=True, heartbeat_at=timezone.now() - timedelta(days=1))
    assert list(evaluation_runs_stale()) == [dead]
    assert {r.id: r.is_stale for r in evaluation_run_list()} == {
        dead.id: True,
        alive.id: False,
        finished.id: False,
    }

    [stopped] = evaluation_runs_stop_stale()
    assert stopped.id == dead.id
    dead.refresh_from_db()
    assert dead.status == EvaluationRun.Status.STOPPED
    assert dead.error_message.startswith("interrupted: no progress since ")
    assert dead.finished_at is not None
    assert (dead.utterances, dead.wer) == (1, 0.0)  # its one clip, aggregated
    assert dead.slices[0]["utterances"] == 1
    assert evaluation_runs_stop_stale() == []  # already stopped: nothing more to do
    alive.refresh_from_db()
    assert alive.status == EvaluationRun.Status.RUNNING


def test_a_heartbeat_keeps_a_run_alive_until_another_process_stops_it():
    run = make_run_running(heartbeat_age=EVALUATION_STALE_AFTER * 2)
    assert evaluation_run_heartbeat(run=run)
    assert not evaluation_runs_stale().exists()
    evaluation_run_mark_stopped(run=run, reason="stopped by hand")
    assert not evaluation_run_heartbeat(run=run)
    # Stopping again keeps the first reason.
    again = evaluation_run_mark_stopped(run=run, reason="stopped twice")
    assert (again.status, again.error_message) == ("stopped", "stopped by hand")


def _request_stop_while_decoding(stop: RunStop, done: list[str], *, in_write: bool) -> None:
    """What a signal handler does to a run, mid-decode or mid-heartbeat."""
    with stop.decoding():
        if in_write:
            with stop.shielded():
                stop.request("now")
                done.append("write finished")
        else:
            stop.request("now")
        done.append("decoding went on")


@pytest.mark.parametrize(("in_write", "done"), [(False, []), (True, ["write finished"])])
def test_a_stop_request_interrupts_decoding_at_once_but_never_a_shielded_write(in_write, done):
    stop, happened = RunStop(), []
    with pytest.raises(StopRequested, match="now"):
        _request_stop_while_decoding(stop, happened, in_write=in_write)
    assert happened == done


def test_a_stop_request_between_clips_waits_for_the_next_check():
    stop = RunStop()
    stop.request("between clips")  # outside decoding: only recorded
    with pytest.raises(StopRequested, match="between clips"):
        stop.check()


STOP_CLIPS = ("vm-sorry", "pls-hold-while-try", "status")


@pytest.mark.slow
def test_a_stop_request_ends_the_run_after_the_clip_in_progress(tmp_path):
    manifest = read_manifest(
        write_manifest(tmp_path / "set.jsonl", [CLIPS[key] for key in STOP_CLIPS])
    )
    stop = RunStop()

    def progress(done, total, item):
        stop.request("stopped by a test")  # once the first clip is stored

    run = evaluation_run_execute(
        manifest=manifest, out_dir=tmp_path / "out", progress=progress, stop=stop
    )
    assert run.status == EvaluationRun.Status.STOPPED
    assert run.error_message == "stopped by a test after 1 of 3 manifest rows"
    assert [item.line for item in run.items.all()] == [1]
    assert run.utterances == 1
    assert run.slices[0]["ref_words"] == run.items.get().ref_words
    report = Path(run.report_path).read_text(encoding="utf-8")
    assert "**Incomplete** (stopped): stopped by a test after 1 of 3 manifest rows." in report


@pytest.mark.slow
def test_a_run_stopped_by_another_process_stops_its_own_process(tmp_path, monkeypatch):
    """A process that was thought dead (suspended past the limit, say) and wakes up finds its run
    stopped at its next heartbeat, and stops rather than finishing it."""
    monkeypatch.setattr(services, "HEARTBEAT_EVERY_SECONDS", 0.0)
    manifest = read_manifest(
        write_manifest(tmp_path / "set.jsonl", [CLIPS[key] for key in STOP_CLIPS])
    )

    def progress(done, total, item):
        if done == 1:
            evaluation_run_mark_stopped(run=item.run, reason="interrupted: no progress")

    run = evaluation_run_execute(manifest=manifest, out_dir=tmp_path / "out", progress=progress)
    assert run.status == EvaluationRun.Status.STOPPED
    assert run.error_message == "interrupted: no progress"
    assert run.items.count() == 1

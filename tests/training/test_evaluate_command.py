"""`manage.py evaluate` end to end with the real bundled model, and its input errors."""

from __future__ import annotations

import io
import json
import os
import re
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ModelVersionFactory
from tests.support import CLIPS, SPEECH
from training.codeswitch_set import build
from training.models import EvaluationItem, EvaluationRun
from training.selectors import EVALUATION_STALE_AFTER
from transcription.models import ModelVersion

from .helpers import EvaluateProcess, make_run_running, wait_until, write_manifest

pytestmark = pytest.mark.django_db

RU = CLIPS["vm-sorry"]
UZ = CLIPS["usc_1131474547_2_29208_1"]


def _row(path: Path, manifest_dir: Path, text: str, language: str, **fields) -> str:
    audio = os.path.relpath(path, manifest_dir)
    return json.dumps({"audio": audio, "text": text, "language": language, **fields})


@pytest.fixture
def small_manifest(tmp_path) -> Path:
    """A Russian clip, an Uzbek clip, a line whose audio is missing, and a uz+ru joined clip."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "manifest.jsonl").write_text(
        "\n".join(_row(c.path, source, c.text, c.language) for c in (UZ, RU)), encoding="utf-8"
    )
    joined = build(speech_dir=source, out_dir=tmp_path / "cs", pairs=1)[0]
    lines = [
        _row(RU.path, tmp_path, RU.text, "ru", source="Asterisk prompts, ru"),
        _row(UZ.path, tmp_path, UZ.text, "uz", source="ISSAI USC, test", speaker="1131474547"),
        _row(SPEECH / "uz" / "gone.wav", tmp_path, "salom", "uz"),
        json.dumps({**joined, "audio": f"cs/{joined['audio']}"}, ensure_ascii=False),
    ]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_evaluate_scores_stores_and_reports_a_small_manifest(small_manifest, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "evaluate", manifest=str(small_manifest), out=str(tmp_path / "out"), stdout=out, stderr=err
    )

    run = EvaluationRun.objects.get()
    assert run.status == EvaluationRun.Status.DONE
    assert run.manifest_name == "small.jsonl"
    assert run.language_mode == "manifest"
    assert run.model_id.startswith("whisper-base@")
    assert len(run.model_checksum) == 64
    assert run.utterances == 3
    [skipped] = run.skipped
    assert (skipped["line"], skipped["code"]) == (3, "missing_audio")
    assert "audio file not found" in skipped["reason"]
    assert "gone.wav" in skipped["reason"]

    items = {item.language: item for item in run.items.all()}
    assert (items["ru"].language_requested, items["ru"].language_decoded) == ("ru", "ru")
    assert (items["uz"].language_requested, items["uz"].language_decoded) == ("uz", "uz")
    assert items["mixed"].language_requested == "mixed"
    assert items["mixed"].code_switched
    assert items["ru"].hypothesis
    assert items["mixed"].hypothesis  # its Russian part at least
    # Zero-shot Uzbek may come back as speech not transcribed, with no text (sampled fallback
    # decides it run to run): then it is scored as every reference word deleted, not skipped.
    uz = items["uz"]
    if not uz.hypothesis:
        assert (uz.deletions, uz.substitutions, uz.insertions) == (uz.ref_words, 0, 0)
    # The Russian prompt is clean studio speech: the bundled model gets most characters right.
    assert items["ru"].cer < 0.3

    slices = {(s["dimension"], s["value"]): s for s in run.slices}
    assert run.slices[0]["dimension"] == "overall"
    total_errors = sum(i.substitutions + i.deletions + i.insertions for i in items.values())
    total_words = sum(i.ref_words for i in items.values())
    assert run.wer == pytest.approx(total_errors / total_words)
    assert slices["language", "ru"]["utterances"] == 1
    assert slices["language", "mixed"]["utterances"] == 1
    assert slices["code_switched", "yes"]["ref_words"] == items["mixed"].ref_words
    assert slices["source", "Asterisk prompts"]["utterances"] == 1
    assert slices["source", "synthetic uz+ru join"]["utterances"] == 1

    result = json.loads(Path(run.json_path).read_text(encoding="utf-8"))
    assert result["run_id"] == str(run.id)
    assert result["slices"] == run.slices
    assert [i["line"] for i in result["items"]] == [1, 2, 4]
    report = Path(run.report_path).read_text(encoding="utf-8")
    assert report == run.report_markdown
    assert "## WER and CER by slice" in report
    assert "| language=uz |" in report
    assert Path(run.report_path).with_suffix(".svg").read_text().startswith("<svg")

    printed = out.getvalue()
    assert "overall" in printed
    assert "language=ru" in printed
    assert "code_switched=yes" in printed
    assert f"JSON:   {run.json_path}" in printed
    assert "small.jsonl:3: audio file not found" in err.getvalue()


@pytest.mark.slow
def test_evaluate_with_a_forced_mode_and_a_limit(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        "\n".join(_row(c.path, tmp_path, c.text, c.language) for c in (RU, UZ)), encoding="utf-8"
    )
    call_command(
        "evaluate",
        manifest=str(manifest),
        language="auto",
        limit=1,
        no_progress=True,
        out=str(tmp_path),
        stdout=io.StringIO(),
    )
    run = EvaluationRun.objects.get()
    assert run.utterances == 1
    item = run.items.get()
    assert item.language_requested == "auto"
    assert item.language_decoded == "ru"


def test_an_empty_manifest_stops_the_command(tmp_path):
    manifest = tmp_path / "empty.jsonl"
    manifest.write_text("")
    with pytest.raises(CommandError, match="empty"):
        call_command("evaluate", manifest=str(manifest))
    assert not EvaluationRun.objects.exists()


def test_a_missing_model_stops_the_command(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(_row(RU.path, tmp_path, RU.text, "ru") + "\n")
    with pytest.raises(CommandError, match="no Whisper model"):
        call_command("evaluate", manifest=str(manifest), model=str(tmp_path))


def test_without_a_model_it_scores_the_version_in_production(tmp_path):
    """The default is what serves: the registry's production version, not the bundled model."""
    promoted = tmp_path / "promoted-version"
    promoted.mkdir()
    # The bundled base is in production from the first migration; a later version replaces it.
    ModelVersion.objects.filter(status=ModelVersion.Status.PRODUCTION).update(
        status=ModelVersion.Status.RETIRED
    )
    ModelVersionFactory(status=ModelVersion.Status.PRODUCTION, path=str(promoted))
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(_row(RU.path, tmp_path, RU.text, "ru") + "\n")
    with pytest.raises(CommandError, match=f"no Whisper model at {re.escape(str(promoted))}"):
        call_command("evaluate", manifest=str(manifest))
    assert not EvaluationRun.objects.exists()


def _one_clip_manifest(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "manifest.jsonl"
    path.write_text(_row(RU.path, folder, RU.text, "ru") + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_runs_over_sets_that_share_the_file_name_manifest_are_told_apart(tmp_path):
    """Two sets laid out alike (`<set>/manifest.jsonl`) get their folder's name; `--name` wins."""
    out = tmp_path / "reports"
    for manifest, name in [
        (_one_clip_manifest(tmp_path / "ru-prompts"), ""),
        (_one_clip_manifest(tmp_path / "other" / "ru-prompts"), "ru prompts/beam 1"),
    ]:
        options = {"name": name} if name else {}
        call_command(
            "evaluate",
            manifest=str(manifest),
            out=str(out),
            no_progress=True,
            stdout=io.StringIO(),
            **options,
        )

    default, named = EvaluationRun.objects.order_by("created_at")
    assert (default.name, default.manifest_name) == ("ru-prompts", "manifest.jsonl")
    assert (named.name, named.manifest_name) == ("ru prompts/beam 1", "manifest.jsonl")
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 6
    for run, prefix in [(default, "ru-prompts-2"), (named, "ru-prompts-beam-1-")]:
        for path in (run.json_path, run.report_path):
            assert Path(path).parent == out
            assert Path(path).name.startswith(prefix)
        assert run.report_markdown.startswith(f"# Evaluation {run.name}: ")


def test_a_blank_name_is_refused(tmp_path):
    manifest = _one_clip_manifest(tmp_path / "set")
    with pytest.raises(CommandError, match="--name"):
        call_command("evaluate", "--manifest", str(manifest), "--name", " ")


# --- as a real process: signals and output -------------------------------------------------

# Model load and Django start take seconds; a clip decodes at a real-time factor near 0.1 on two
# idle cores. These limits allow for several times that on a machine busy with other tests.
FIRST_CLIP_WITHIN_S = 120
STOP_WITHIN_S = 60  # the Whisper segment in progress, then storing the partial results
SHORT_RUN_WITHIN_S = 180


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_keeps_its_clips_and_fails_the_command(tmp_path, signum):
    # The shortest clip first, so a result is stored soon; then enough speech (about 3.5 min)
    # that the run is still going when the signal comes.
    clips = [RU, *[c for c in CLIPS.values() if c is not RU] * 4]
    manifest = write_manifest(tmp_path / "long.jsonl", clips)
    out = tmp_path / "reports"
    evaluate = EvaluateProcess(
        f"evaluate-{signum.name}", "--manifest", str(manifest), "--out", str(out)
    )
    try:
        wait_until(
            lambda: EvaluationItem.objects.exists() or evaluate.proc.poll() is not None,
            timeout=FIRST_CLIP_WITHIN_S,
            what="stored clip result",
        )
        assert evaluate.proc.poll() is None, evaluate.stderr[-3000:]
        os.kill(evaluate.proc.pid, signum)
        returncode = evaluate.wait(timeout=STOP_WITHIN_S)
    finally:
        evaluate.kill()

    assert returncode == 128 + signum, evaluate.stderr[-3000:]
    run = EvaluationRun.objects.get()
    assert run.status == EvaluationRun.Status.STOPPED
    kept = run.items.count()
    assert 1 <= kept < len(clips)
    assert run.utterances == kept
    assert run.slices[0]["utterances"] == kept
    assert run.finished_at is not None
    assert re.fullmatch(
        rf"stopped by {signum.name} after \d+ of {len(clips)} manifest rows", run.error_message
    )
    # Each kept clip is a scored result: text, or (Uzbek speech not transcribed) every word deleted.
    for item in run.items.all():
        assert item.hypothesis or item.deletions == item.ref_words, item.audio
    assert run.items.get(line=1).hypothesis  # the Russian prompt, decoded first
    report = Path(run.report_path).read_text(encoding="utf-8")
    assert "**Incomplete** (stopped)" in report
    assert json.loads(Path(run.json_path).read_text())["status"] == "stopped"
    assert f"CommandError: Evaluation stopped: stopped by {signum.name}" in evaluate.stderr
    assert f"Kept in run {run.id}: the {kept} clip" in evaluate.stderr
    assert "Traceback" not in evaluate.stderr


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) (\S+): ")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_log_lines_do_not_break_the_progress_bar(tmp_path):
    """faster-whisper's per-clip INFO lines are left out; other log lines (a clip that cannot be
    decoded) are printed through tqdm, each on a line of its own, not glued to the bar."""
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    manifest = tmp_path / "logs.jsonl"
    lines = write_manifest(tmp_path / "rows.jsonl", [RU, CLIPS["pls-hold-while-try"]])
    first, second = lines.read_text(encoding="utf-8").splitlines()
    bad = json.dumps({"audio": "broken.wav", "text": "salom dunyo", "language": "uz"})
    manifest.write_text("\n".join([first, bad, second]) + "\n", encoding="utf-8")

    evaluate = EvaluateProcess("evaluate-logs", "--manifest", str(manifest), "--out", str(tmp_path))
    try:
        assert evaluate.wait(timeout=SHORT_RUN_WITHIN_S) == 0, evaluate.stderr[-3000:]
    finally:
        evaluate.kill()

    stderr = evaluate.stderr
    assert "Processing audio with duration" not in stderr
    assert "VAD filter removed" not in stderr
    # Every piece of the terminal output: the bar redraws itself after "\r".
    pieces = re.split(r"[\r\n]", stderr)
    assert any(re.match(r"evaluate logs: +100%.*3/3", piece) for piece in pieces), stderr
    logged = [(piece, match) for piece in pieces if (match := LOG_LINE.search(piece))]
    assert any("Skipping line 2 (broken.wav)" in piece for piece, _ in logged), stderr
    for piece, match in logged:
        assert match.start() == 0, f"a log line glued to the progress bar: {piece!r}"
        assert not match.group(2).startswith("faster_whisper"), piece
    assert EvaluationRun.objects.get().status == EvaluationRun.Status.DONE


@pytest.mark.slow
def test_evaluate_marks_runs_left_running_by_a_dead_process_stopped(tmp_path):
    dead = make_run_running(heartbeat_age=EVALUATION_STALE_AFTER + timedelta(minutes=1))
    alive = make_run_running(heartbeat_age=timedelta(seconds=30))
    manifest = write_manifest(tmp_path / "m.jsonl", [RU])
    err = io.StringIO()
    call_command(
        "evaluate",
        manifest=str(manifest),
        out=str(tmp_path),
        no_progress=True,
        stdout=io.StringIO(),
        stderr=err,
    )
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == EvaluationRun.Status.STOPPED
    assert dead.error_message.startswith("interrupted: no progress since ")
    assert dead.utterances == 1  # the clip it scored before it died
    assert f"Run {dead.id} (dev) now stopped, interrupted: no progress" in err.getvalue()
    assert alive.status == EvaluationRun.Status.RUNNING
    assert str(alive.id) not in err.getvalue()

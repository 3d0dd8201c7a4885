"""Fine-tune runs end to end on the real code path: a tiny randomly initialised Whisper (the
bundled model's tokenizer) trained a few steps on real clips by a real Celery `train` worker,
converted to CTranslate2 int8, exported to ONNX, evaluated with the shared WER/CER code, gated,
registered as a candidate, and promoted to a running ASR worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_job
from tests.support import (
    EVAL_STEMS,
    TINY_RUN,
    TRAIN_STEMS,
    start_train_worker,
    wait_for_job,
    write_manifest,
)
from training.finetune import services
from training.models import FineTuneRun
from transcription import selectors
from transcription.models import ModelVersion
from transcription.services import registry
from transcription.tasks import transcribe_job

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manifests(tmp_path) -> tuple[Path, Path]:
    return (
        write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS),
        write_manifest(tmp_path / "eval.jsonl", EVAL_STEMS),
    )


@pytest.fixture
def train_worker(django_db_setup, django_db_blocker):
    worker = start_train_worker()
    yield worker
    worker.stop()


def wait_for_run(run_id, *, timeout: float = 900) -> FineTuneRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = FineTuneRun.objects.get(id=run_id)
        if run.status in FineTuneRun.FINISHED_STATUSES:
            return run
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} still {FineTuneRun.objects.get(id=run_id).status}")


def test_a_tiny_fine_tune_trains_converts_gates_registers_and_serves(
    train_worker, celery_worker_process, manifests, user, ru_clip
):
    train, evaluation = manifests
    base = registry.model_version_bundled()
    run = services.finetune_run_create(
        name="tiny-e2e",
        base_version=base,
        train_manifest=str(train),
        eval_manifest=str(evaluation),
        init=FineTuneRun.Init.TINY_RANDOM,
        hyperparameters=TINY_RUN,
    )
    run = wait_for_run(run.id)

    assert run.status == FineTuneRun.Status.DONE, (run.error_message, run.log_tail[-3000:])
    assert run.step == TINY_RUN["max_steps"]
    losses = [p["loss"] for p in run.metrics if p["kind"] == "loss"]
    assert len(losses) == TINY_RUN["max_steps"]
    assert losses[-1] < losses[0]  # it learned something
    assert [p["step"] for p in run.metrics if p["kind"] == "eval"] == [2, 4]
    assert set(run.scores) == {"checkpoint", "ctranslate2_int8", "onnx", "base"}
    for score in run.scores.values():
        languages = {s["value"] for s in score["slices"] if s["dimension"] == "language"}
        assert languages == {"uz", "ru"}
        assert len(score["clips"]) == len(EVAL_STEMS)
    # The ONNX export decodes exactly as the checkpoint does.
    assert run.scores["onnx"]["wer"] == pytest.approx(run.scores["checkpoint"]["wer"])
    assert run.gate["passed"] is True
    assert run.gate["deltas"]["ctranslate2_int8"] <= settings.TRAIN_GATE_MARGIN
    # A random tiny model is worse than Whisper base at Russian: forgetting is flagged.
    assert run.gate["forgetting"] is True
    assert run.cpu_seconds > 0
    out = Path(run.output_dir)
    assert (out / "checkpoints").is_dir()
    ct2_config = json.loads((out / "tiny-e2e-int8" / "config.json").read_text())
    assert len(ct2_config["lang_ids"]) == 99  # languages survive the conversion
    assert ct2_config["alignment_heads"]

    version = run.registered_version
    assert version.status == ModelVersion.Status.CANDIDATE
    assert version.base == base
    assert version.run_id == run.id
    assert version.evaluation["wer"] == run.scores["ctranslate2_int8"]["wer"]
    # Side by side with its base, on the run's evaluation set.
    comparison = selectors.model_version_compare(left=base, right=version)
    uz = next(s for s in comparison["slices"] if s["slice"] == "language=uz")
    assert uz["left_wer"] == next(
        s["wer"] for s in run.scores["base"]["slices"] if s["value"] == "uz"
    )
    assert uz["right_wer"] is not None
    assert comparison["clips"]  # the tiny model writes other words than the base

    # Promoted, it reaches the running ASR worker; rolled back, the base serves again.
    registry.model_version_promote(version_id=version.id, actor="test")
    job = make_job(owner=user, path=ru_clip.path, language_requested="auto")
    transcribe_job.delay(str(job.id))
    job = wait_for_job(job.id, timeout=180)
    assert job.status == "done", job.error_message
    assert job.model_id.startswith("tiny-e2e-int8@")
    registry.model_version_rollback(actor="test")

    figures = {
        "cpu_seconds": run.cpu_seconds,
        "wall_seconds": run.wall_seconds,
        "wer": {k: v["wer"] for k, v in run.scores.items()},
        "gate": run.gate,
    }
    artifacts = Path(settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "finetune-tiny-run.json").write_text(json.dumps(figures, indent=2) + "\n")

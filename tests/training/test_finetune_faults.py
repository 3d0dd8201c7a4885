"""Fine-tune runs and bad input or faults: a tiny or empty training set, an evaluation set that
overlaps the training set, a second delivery, a training process that crashes, a full disk,
cancelling mid-run, and a worker that dies (a new one does not train the run twice)."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest
from django.test import override_settings
from kombu import Connection

from tests.support import (
    EVAL_STEMS,
    SPEECH,
    TINY_RUN,
    TRAIN_STEMS,
    start_train_worker,
    write_manifest,
)
from training.finetune import execution, services
from training.models import FineTuneRun
from training.tasks import finetune_run
from transcription.services import registry
from uzwhisper.errors import ApplicationError


@pytest.fixture
def manifests(tmp_path) -> tuple[Path, Path]:
    return (
        write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS),
        write_manifest(tmp_path / "eval.jsonl", EVAL_STEMS),
    )


def create(train: Path, evaluation: Path, **options) -> FineTuneRun:
    options.setdefault("hyperparameters", TINY_RUN)
    options.setdefault("enqueue", False)
    options.setdefault("init", FineTuneRun.Init.TINY_RANDOM)
    return services.finetune_run_create(
        name=options.pop("name", "faults"),
        base_version=options.pop("base_version", None) or registry.model_version_bundled(),
        train_manifest=str(train),
        eval_manifest=str(evaluation),
        **options,
    )


# --- refused before anything runs -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("stems", [[], ["vm-sorry"]], ids=["empty", "one clip"])
def test_an_empty_or_tiny_training_set_is_refused(tmp_path, manifests, stems):
    train = write_manifest(tmp_path / "small.jsonl", stems)
    with pytest.raises(ApplicationError) as refused:
        create(train, manifests[1])
    assert refused.value.code == "training_set_too_small"
    assert f"has {len(stems)} usable clip(s)" in refused.value.message
    assert not FineTuneRun.objects.exists()


@pytest.mark.django_db
def test_an_evaluation_set_overlapping_the_training_set_is_refused_unless_confirmed(tmp_path):
    train = write_manifest(
        tmp_path / "train-one-uz.jsonl",
        ["usc_1131474547_2_29207_1", "vm-sorry", "pls-hold-while-try"],
    )
    # The same audio under another name, and another clip of a training speaker.
    copy = tmp_path / "renamed.wav"
    shutil.copy(SPEECH / "ru" / "vm-sorry.wav", copy)
    evaluation = write_manifest(tmp_path / "eval.jsonl", ["usc_1131474547_2_29208_1", "status"])
    evaluation.write_text(
        evaluation.read_text() + f'{{"audio": "{copy}", "text": "извините", "language": "ru"}}\n'
    )
    with pytest.raises(ApplicationError) as refused:
        create(train, evaluation)
    assert refused.value.code == "evaluation_overlaps_training"
    assert refused.value.details == {"audio": [str(copy)], "speakers": ["1131474547"]}

    run = create(train, evaluation, confirm_overlap=True)
    assert run.overlap_confirmed is True
    assert run.overlap["speakers"] == ["1131474547"]


@pytest.mark.django_db
def test_a_base_without_a_checkpoint_cannot_be_fine_tuned(manifests, tmp_path):
    # A CTranslate2 directory with no hf/ beside it (the bundled one may have been given one
    # by `manage.py rebuild_base_checkpoint` on this machine).
    bundled = Path(registry.model_version_bundled().model_path)
    ct2_only = tmp_path / "ct2-only"
    ct2_only.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (ct2_only / name).symlink_to(bundled / name)
    base = registry.model_version_register(name="ct2-only", path=ct2_only)
    with pytest.raises(ApplicationError) as refused:
        create(*manifests, init=FineTuneRun.Init.CHECKPOINT, base_version=base)
    assert refused.value.code == "base_has_no_checkpoint"
    assert "rebuild_base_checkpoint" in refused.value.message


# --- in this process (the service the task calls) --------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_training_process_that_crashes_fails_the_run_with_its_reason(tmp_path, manifests):
    _, evaluation = manifests
    # A clip that vanishes after the run was accepted: the training process dies reading it.
    moved = write_manifest(tmp_path / "moved.jsonl", TRAIN_STEMS)
    clip = tmp_path / "gone.wav"
    shutil.copy(SPEECH / "ru" / "vm-sorry.wav", clip)
    moved.write_text(moved.read_text().replace(str(SPEECH / "ru" / "vm-sorry.wav"), str(clip)))
    run = create(moved, evaluation)
    clip.unlink()

    execution.finetune_run_execute(run_id=run.id)

    run.refresh_from_db()
    assert run.status == FineTuneRun.Status.FAILED
    assert run.error_code == "training_crashed"
    assert "Training exited with status 1" in run.error_message
    assert "gone.wav" in run.error_message  # the log's last lines say why
    assert run.registered_version is None
    # Delivered again: nothing runs twice.
    assert execution.finetune_run_execute(run_id=run.id) is None
    run.refresh_from_db()
    assert run.attempts == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_full_disk_stops_the_run_and_keeps_its_checkpoints(manifests):
    run = create(*manifests, hyperparameters={**TINY_RUN, "max_steps": 50, "save_steps": 1})
    with override_settings(TRAIN_MIN_FREE_BYTES=shutil.disk_usage("/").total * 2):
        execution.finetune_run_execute(run_id=run.id)

    run.refresh_from_db()
    assert run.status == FineTuneRun.Status.FAILED
    assert run.error_code == "disk_full"
    assert "checkpoints kept" in run.error_message
    assert run.step < 50  # stopped early
    assert list((Path(run.output_dir) / "checkpoints").glob("checkpoint-*"))
    assert run.registered_version is None


# --- through a real train worker -------------------------------------------------------


def wait_for(predicate, *, timeout: float = 300, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def run_state(run_id) -> FineTuneRun:
    return FineTuneRun.objects.get(id=run_id)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancelling_a_run_mid_training_keeps_its_checkpoints(manifests):
    worker = start_train_worker("train-worker-cancel")
    try:
        run = create(
            *manifests,
            hyperparameters={**TINY_RUN, "max_steps": 500, "save_steps": 1},
            enqueue=True,
        )
        wait_for(lambda: run_state(run.id).step >= 1, what="the first step")
        services.finetune_run_cancel(run_id=run.id)
        wait_for(
            lambda: run_state(run.id).status in FineTuneRun.FINISHED_STATUSES,
            what="the run to end",
        )
    finally:
        worker.stop()
    run.refresh_from_db()
    assert run.status == FineTuneRun.Status.CANCELLED, run.error_message
    assert run.step < 500
    assert list((Path(run.output_dir) / "checkpoints").glob("checkpoint-*"))
    assert run.registered_version is None


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_dies_is_marked_failed_and_never_trained_twice(manifests):
    """RabbitMQ puts the unacknowledged task back the moment its worker's connection drops; the
    next worker waits for the run's heartbeat to lapse, then marks it failed instead of
    training it again."""
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    queue = f"train-kill-{time.monotonic_ns()}"
    env = {"CELERY_BROKER_URL": amqp, "CELERY_TRAIN_QUEUE": queue}
    run = create(*manifests, hyperparameters={**TINY_RUN, "max_steps": 500, "save_steps": 1})
    worker = start_train_worker("train-worker-doomed", **env)
    # An explicit connection: Celery would take CELERY_BROKER_URL (Redis here) from the env.
    connection = Connection(amqp)
    try:
        finetune_run.apply_async(args=[str(run.id)], queue=queue, connection=connection)
        wait_for(lambda: run_state(run.id).step >= 1, what="the first step")
        worker.kill(signal.SIGKILL)
        successor = start_train_worker("train-worker-successor", **env)
        try:
            wait_for(
                lambda: run_state(run.id).status in FineTuneRun.FINISHED_STATUSES,
                what="the successor to mark the run",
            )
        finally:
            successor.stop()
    finally:
        worker.stop()
        connection.default_channel.queue_delete(queue)
        connection.release()
    run.refresh_from_db()
    assert run.status == FineTuneRun.Status.FAILED
    assert run.error_code == "worker_lost"
    assert "checkpoints so far are kept" in run.error_message
    assert run.attempts == 1
    assert list((Path(run.output_dir) / "checkpoints").glob("checkpoint-*"))
    # The training process it left behind noticed its worker was gone and stopped early
    # (saving a checkpoint), rather than training on unwatched.
    log = Path(run.output_dir) / "train.log"
    wait_for(lambda: "Trained model written" in log.read_text(), what="the orphan to stop")
    metrics = (Path(run.output_dir) / "metrics.jsonl").read_text()
    assert '"kind": "trained"' in metrics
    assert '"step": 500' not in metrics

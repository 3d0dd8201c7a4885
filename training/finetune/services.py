"""Writes for fine-tune runs: create (with the data checks), cancel, and execute (what the `train`
queue's task calls): train in a child process, convert, export, evaluate, gate, register.

Nothing served changes here: a run that passes its gate registers a *candidate* version through
transcription's registry services; promotion is a separate, deliberate step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from transcription.models import ModelVersion
from uzwhisper.asr.languages import SUPPORTED_LANGUAGES
from uzwhisper.errors import ApplicationError
from uzwhisper.events import broadcast

from ..models import FineTuneRun
from .data import DataChoice, discard, finetune_data_prepare
from .selectors import finetune_run_payload, run_group
from .spec import Recipe, Utterance, read_utterances

logger = logging.getLogger(__name__)

FINETUNE_TASK = "training.tasks.finetune_run"

LOG_FILE = "train.log"
LOG_TAIL_CHARS = 8000
POLL_SECONDS = 1.0


# --- data checks --------------------------------------------------------------------------


def _audio_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _read(manifest: str, role: str) -> list[Utterance]:
    try:
        rows = read_utterances(manifest)
    except FileNotFoundError as exc:
        raise ApplicationError(
            "manifest_missing", f"The {role} manifest {manifest} does not exist."
        ) from exc
    except (ValueError, KeyError) as exc:
        raise ApplicationError(
            "manifest_invalid", f"The {role} manifest {manifest} cannot be read: {exc}"
        ) from exc
    missing = [row.audio for row in rows if not Path(row.audio).is_file()]
    if missing:
        raise ApplicationError(
            "manifest_audio_missing",
            f"{len(missing)} clip(s) of the {role} manifest are missing, e.g. {missing[0]}.",
        )
    return rows


def _summary(rows: list[Utterance]) -> dict[str, Any]:
    by_language: dict[str, int] = {}
    for row in rows:
        by_language[row.language] = by_language.get(row.language, 0) + 1
    return {
        "rows": len(rows),
        "by_language": by_language,
        "speakers": len({r.speaker for r in rows if r.speaker}),
    }


def data_overlap(train: list[Utterance], evaluation: list[Utterance]) -> dict[str, list[str]]:
    """Evaluation clips also in the training set: the same audio (by checksum, whatever the
    file is called) or the same speaker."""
    train_sums = {_audio_sha256(row.audio) for row in train}
    train_speakers = {row.speaker for row in train if row.speaker}
    return {
        "audio": sorted(row.audio for row in evaluation if _audio_sha256(row.audio) in train_sums),
        "speakers": sorted({row.speaker for row in evaluation if row.speaker in train_speakers}),
    }


@transaction.atomic
def finetune_run_create(
    *,
    name: str,
    base_version: ModelVersion,
    train_manifest: str = "",
    eval_manifest: str = "",
    data: DataChoice | None = None,
    evaluation: DataChoice | None = None,
    method: str = FineTuneRun.Method.FULL,
    init: str = FineTuneRun.Init.CHECKPOINT,
    hyperparameters: dict[str, Any] | None = None,
    confirm_overlap: bool = False,
    created_by: User | None = None,
    enqueue: bool = True,
) -> FineTuneRun:
    """A queued run, after checking its data: both manifests readable with their audio there, a
    training set of at least TRAIN_MIN_ROWS clips in uz/ru, and an evaluation set that shares no
    audio and no speaker with it (or `confirm_overlap`). With `enqueue`, the task goes to the
    train queue when the transaction commits.

    The data: `data` and `evaluation` (training.finetune.data) say where it comes from — an
    export of validated clips or approved annotations, a server manifest, an upload — and are
    materialised into the run's folder first; the plain `train_manifest`/`eval_manifest` paths
    are the `manifest` source. Without an evaluation choice or path, the export's dev split."""
    data = data or DataChoice("manifest", manifest=train_manifest)
    if evaluation is None:
        evaluation = DataChoice("manifest", manifest=eval_manifest) if eval_manifest else None
    run_id = uuid.uuid4()
    prepared = finetune_data_prepare(
        run_id=run_id, train=data, evaluation=evaluation or DataChoice("dev")
    )
    try:
        return _create_checked(
            run_id=run_id,
            name=name,
            base_version=base_version,
            train_manifest=str(prepared.train_manifest),
            eval_manifest=str(prepared.eval_manifest),
            provenance=prepared.provenance,
            method=method,
            init=init,
            hyperparameters=hyperparameters,
            confirm_overlap=confirm_overlap,
            created_by=created_by,
            enqueue=enqueue,
        )
    except BaseException:
        # A refused run leaves no exported or uploaded data behind.
        discard(prepared.made)
        raise


def _create_checked(
    *,
    run_id: uuid.UUID,
    name: str,
    base_version: ModelVersion,
    train_manifest: str,
    eval_manifest: str,
    provenance: dict[str, Any],
    method: str,
    init: str,
    hyperparameters: dict[str, Any] | None,
    confirm_overlap: bool,
    created_by: User | None,
    enqueue: bool,
) -> FineTuneRun:
    train = _read(train_manifest, "training")
    evaluation = _read(eval_manifest, "evaluation")
    usable = [row for row in train if row.language in SUPPORTED_LANGUAGES]
    if len(usable) < settings.TRAIN_MIN_ROWS:
        raise ApplicationError(
            "training_set_too_small",
            f"The training set has {len(usable)} usable clip(s) (uz or ru); a run needs at "
            f"least {settings.TRAIN_MIN_ROWS}.",
        )
    if not [row for row in evaluation if row.language in SUPPORTED_LANGUAGES]:
        raise ApplicationError("evaluation_set_empty", "The evaluation set has no uz or ru clip.")
    overlap = data_overlap(train, evaluation)
    if (overlap["audio"] or overlap["speakers"]) and not confirm_overlap:
        raise ApplicationError(
            "evaluation_overlaps_training",
            f"The evaluation set overlaps the training set: {len(overlap['audio'])} clip(s) with "
            f"the same audio, {len(overlap['speakers'])} speaker(s) in both. Its WER would flatter "
            "the model. Confirm to run anyway.",
            status_code=status.HTTP_409_CONFLICT,
            details=overlap,
        )
    if init == FineTuneRun.Init.CHECKPOINT and not (Path(base_version.model_path) / "hf").is_dir():
        raise ApplicationError(
            "base_has_no_checkpoint",
            f"{base_version.name} has no transformers checkpoint to fine-tune from (a CTranslate2 "
            "conversion cannot be trained). For the bundled base, rebuild one once with "
            "`manage.py rebuild_base_checkpoint` (on a machine with requirements-train.txt); "
            "or pick a version a run made, or init=tiny-random.",
        )
    known = {f.name for f in dataclasses.fields(Recipe)}
    unknown = set(hyperparameters or {}) - known
    if unknown:
        raise ApplicationError("unknown_hyperparameters", f"Unknown: {', '.join(sorted(unknown))}.")
    run = FineTuneRun(
        id=run_id,
        name=name,
        created_at=timezone.now(),
        created_by=created_by,
        base_version=base_version,
        init=init,
        method=method,
        hyperparameters=hyperparameters or {},
        train_manifest=str(Path(train_manifest).resolve()),
        eval_manifest=str(Path(eval_manifest).resolve()),
        data_summary={
            "train": _summary(train),
            "eval": _summary(evaluation),
            "source": provenance,
        },
        overlap=overlap,
        overlap_confirmed=confirm_overlap,
        gate_margin=settings.TRAIN_GATE_MARGIN,
    )
    run.full_clean()
    run.save()
    run.output_dir = str(Path(settings.TRAIN_RUNS_DIR) / str(run.id))
    run.save(update_fields=["output_dir"])
    if enqueue:
        # By name: the web process never imports the worker's code (training.tasks).
        transaction.on_commit(lambda: current_app.send_task(FINETUNE_TASK, args=[str(run.id)]))
    return run


def finetune_run_cancel(*, run_id: uuid.UUID | str) -> FineTuneRun:
    """Ask the run to stop: a queued one is cancelled now, a running one at its next step (it
    keeps its checkpoints)."""
    FineTuneRun.objects.filter(id=run_id, status=FineTuneRun.Status.QUEUED).update(
        status=FineTuneRun.Status.CANCELLED, finished_at=timezone.now(), cancel_requested=True
    )
    FineTuneRun.objects.filter(id=run_id, status__in=FineTuneRun.ACTIVE_STATUSES).update(
        cancel_requested=True
    )
    run = FineTuneRun.objects.get(id=run_id)
    _publish(run)
    return run


# --- shared with the worker's execution -------------------------------------------


def _publish(run: FineTuneRun, *, new_metrics: list[dict[str, Any]] | None = None) -> None:
    """`finetune.status` to the run page: the run's state with only the new chart points."""
    payload = finetune_run_payload(run)
    payload["metrics"] = new_metrics or []
    broadcast(run_group(run.id), "finetune.status", payload)


def finetune_run_mark_failed(*, run_id: uuid.UUID | str, code: str, message: str) -> None:
    updated = (
        FineTuneRun.objects.filter(id=run_id)
        .exclude(status__in=FineTuneRun.FINISHED_STATUSES)
        .update(
            status=FineTuneRun.Status.FAILED,
            error_code=code,
            error_message=message[:5000],
            finished_at=timezone.now(),
        )
    )
    if updated:
        run = FineTuneRun.objects.get(id=run_id)
        logger.error("Fine-tune run %s failed (%s): %s", run.name, code, message)
        _publish(run)

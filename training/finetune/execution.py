"""A fine-tune run's execution on a `train` worker (the task calls `finetune_run_execute`):
claim, train in a child process, convert, export, evaluate, gate, register. Imports the heavy
packages (through `convert`) inside functions; the web process imports `services` only."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from transcription.services.registry import model_version_register
from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

from ..models import FineTuneRun
from .recipe import CANCEL_FILE, METRICS_FILE, Recipe, read_utterances
from .services import _publish, finetune_run_mark_failed

logger = logging.getLogger(__name__)

LOG_FILE = "train.log"
LOG_TAIL_CHARS = 8000
POLL_SECONDS = 1.0


class RunBusy(Exception):
    """Another worker's run shows a live heartbeat: look again after `retry_in` seconds (if that
    worker died, its heartbeat will have lapsed by then)."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"the run is active elsewhere; look again in {retry_in:.0f} s")
        self.retry_in = retry_in


def finetune_run_claim(*, run_id: uuid.UUID | str) -> FineTuneRun | None:
    """Take a queued run for this worker (a conditional UPDATE: a second delivery does nothing).
    A run found active whose heartbeat has lapsed lost its worker: it is marked failed, not
    run again (its checkpoints stay), so no run trains twice. One whose heartbeat is fresh
    raises RunBusy."""
    now = timezone.now()
    claimed = FineTuneRun.objects.filter(id=run_id, status=FineTuneRun.Status.QUEUED).update(
        status=FineTuneRun.Status.TRAINING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    if claimed:
        return FineTuneRun.objects.get(id=run_id)
    lapsed = now - timedelta(seconds=settings.TRAIN_LEASE_SECONDS)
    lost = (
        FineTuneRun.objects.filter(id=run_id, status__in=FineTuneRun.ACTIVE_STATUSES)
        .filter(Q(heartbeat_at__lt=lapsed) | Q(heartbeat_at__isnull=True))
        .first()
    )
    if lost is not None:
        finetune_run_mark_failed(
            run_id=run_id,
            code="worker_lost",
            message=f"The worker running it ({lost.worker}) stopped while {lost.status}; "
            f"checkpoints so far are kept in {lost.output_dir}/checkpoints. Start a new run to "
            "continue.",
        )
        return None
    active = FineTuneRun.objects.filter(id=run_id, status__in=FineTuneRun.ACTIVE_STATUSES).first()
    if active is not None and active.heartbeat_at is not None:
        raise RunBusy(max(1.0, (active.heartbeat_at - lapsed).total_seconds()))
    if not FineTuneRun.objects.filter(id=run_id).exists():
        logger.warning("Fine-tune run %s vanished before it ran", run_id)
    return None


def _recipe(run: FineTuneRun) -> Recipe:
    base = run.base_version
    base_dir = Path(base.model_path)
    return Recipe(
        **{
            **run.hyperparameters,
            "output_dir": run.output_dir,
            "tokenizer_dir": str(base_dir),
            "train_manifest": run.train_manifest,
            "eval_manifest": run.eval_manifest,
            "init": "tiny-random"
            if run.init == FineTuneRun.Init.TINY_RANDOM
            else str(base_dir / "hf"),
            "base_ct2_config": str(base_dir / "config.json"),
            "method": run.method,
        }
    )


def ct2_directory(run: FineTuneRun) -> Path:
    """Where a run's CTranslate2 int8 conversion goes (the directory a version registers)."""
    return Path(run.output_dir) / f"{run.name}-int8"


def train_command(recipe_path: Path, *, gpus: int) -> list[str]:
    """One process per GPU through torchrun (data-parallel), else one process."""
    if gpus > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
            "-m",
            "training.finetune.train",
            str(recipe_path),
        ]
    return [sys.executable, "-m", "training.finetune.train", str(recipe_path)]


class RunStopped(Exception):
    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Follower:
    """Reads the child's metrics file as it grows."""

    path: Path
    offset: int = 0

    def new(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.decode().splitlines() if line.strip()]


def _tail(path: Path) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL_CHARS))
        return handle.read().decode(errors="replace")


def _gpu_count() -> int:
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


def _train(run: FineTuneRun, recipe: Recipe) -> None:
    out = recipe.out
    out.mkdir(parents=True, exist_ok=True)
    (out / CANCEL_FILE).unlink(missing_ok=True)
    recipe_path = out / "recipe.json"
    recipe.save(recipe_path)
    FineTuneRun.objects.filter(id=run.id).update(max_steps=recipe.max_steps)
    follower = _Follower(out / METRICS_FILE)
    follower.offset = (out / METRICS_FILE).stat().st_size if (out / METRICS_FILE).exists() else 0
    root = Path(settings.BASE_DIR)
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with (out / LOG_FILE).open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - our own module, arguments we built
            train_command(recipe_path, gpus=_gpu_count()),
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _follow(run, out, child, follower)
    except BaseException:
        # The task is ending (time limit, an error, the worker stopping): so does training,
        # saving a checkpoint at its next step, then at once if it lingers.
        (out / CANCEL_FILE).touch()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.terminate()
        raise


def _follow(run: FineTuneRun, out: Path, child: subprocess.Popen, follower: _Follower) -> None:
    """Until the training process exits: record its metrics and heartbeat, relay them to the
    run page, and ask it to stop on cancel or a nearly full disk."""
    stop: RunStopped | None = None
    while True:
        exited = child.poll() is not None
        records = follower.new()
        state = FineTuneRun.objects.get(id=run.id)
        step = max([state.step] + [int(r.get("step", 0)) for r in records])
        charted = [r for r in records if r.get("kind") in ("loss", "eval")]
        FineTuneRun.objects.filter(id=run.id).update(
            heartbeat_at=timezone.now(),
            step=step,
            metrics=state.metrics + charted,
            log_tail=_tail(out / LOG_FILE),
        )
        if charted or records:
            state.step = step
            _publish(state, new_metrics=charted)
        if exited:
            break
        if stop is None and state.cancel_requested:
            stop = RunStopped(FineTuneRun.Status.CANCELLED, "", "Cancelled during training.")
            (out / CANCEL_FILE).touch()
        free = shutil.disk_usage(out).free
        if stop is None and free < settings.TRAIN_MIN_FREE_BYTES:
            stop = RunStopped(
                FineTuneRun.Status.FAILED,
                "disk_full",
                f"Only {free // 2**20} MiB free under {out} (a run needs "
                f"{settings.TRAIN_MIN_FREE_BYTES // 2**20} MiB): stopped; checkpoints kept.",
            )
            (out / CANCEL_FILE).touch()
        time.sleep(POLL_SECONDS)
    if stop is not None:
        raise stop
    if child.returncode != 0:
        raise RunStopped(
            FineTuneRun.Status.FAILED,
            "training_crashed",
            f"Training exited with status {child.returncode}; checkpoints so far are kept. "
            f"Last lines of its log:\n{_tail(out / LOG_FILE)[-2000:]}",
        )


def gate_decision(
    *,
    scores: dict[str, dict[str, Any]],
    margin: float,
) -> dict[str, Any]:
    """Conversions may lose at most `margin` WER against the checkpoint (CTranslate2 int8 is what
    registers; ONNX is judged the same way). Forgetting: the fine-tune's Russian WER worse than
    its base's is flagged (not refused)."""
    checkpoint = scores["checkpoint"]["wer"]
    deltas = {
        name: scores[name]["wer"] - checkpoint
        for name in ("ctranslate2_int8", "onnx")
        if name in scores and scores[name]["wer"] is not None and checkpoint is not None
    }
    refused = {name: delta for name, delta in deltas.items() if delta > margin}

    def ru(name: str) -> float | None:
        for row in scores.get(name, {}).get("slices", []):
            if row["dimension"] == "language" and row["value"] == "ru":
                return row["wer"]
        return None

    ru_model, ru_base = ru("ctranslate2_int8"), ru("base")
    forgetting = ru_model is not None and ru_base is not None and ru_model > ru_base
    return {
        "passed": "ctranslate2_int8" in deltas and "ctranslate2_int8" not in refused,
        "margin": margin,
        "deltas": deltas,
        "refused": sorted(refused),
        "forgetting": forgetting,
        "ru_wer": ru_model,
        "ru_wer_base": ru_base,
    }


def _set_status(run: FineTuneRun, status_: str) -> None:
    FineTuneRun.objects.filter(id=run.id).update(status=status_, heartbeat_at=timezone.now())
    run.status = status_
    _publish(run)


def _check_cancel(run: FineTuneRun) -> None:
    if FineTuneRun.objects.filter(id=run.id, cancel_requested=True).exists():
        raise RunStopped(FineTuneRun.Status.CANCELLED, "", "Cancelled before registration.")


def finetune_run_execute(*, run_id: uuid.UUID | str) -> FineTuneRun | None:
    """Claim the run and take it to the end: train (child process), convert to CTranslate2 int8,
    export ONNX, score checkpoint / int8 / ONNX / the base on the evaluation set, gate, and
    register the int8 conversion as a candidate. Safe to call again for the same run."""
    run = finetune_run_claim(run_id=run_id)
    if run is None:
        return None
    _publish(run)
    started = time.perf_counter()
    cpu_before = _cpu_seconds()
    recipe = _recipe(run)
    try:
        _require_training_packages()
        _train(run, recipe)
        _check_cancel(run)
        if not (recipe.final_dir / "config.json").exists():
            raise RunStopped(
                FineTuneRun.Status.FAILED, "no_model", "Training ended without writing a model."
            )
        _set_status(run, FineTuneRun.Status.CONVERTING)
        from . import convert

        # Named after the run: workers report "<directory>@<checksum>" as a job's model_id.
        ct2_dir = convert.convert_ctranslate2(recipe.final_dir, ct2_directory(run))
        onnx_dir = convert.export_onnx(recipe.final_dir, recipe.out / "onnx")
        _check_cancel(run)
        _set_status(run, FineTuneRun.Status.EVALUATING)
        rows = [
            r for r in read_utterances(recipe.eval_manifest) if r.language in SUPPORTED_LANGUAGES
        ]
        features = convert.shared_features()
        limit = recipe.generation_max_length
        scores = {
            "checkpoint": convert.score_checkpoint(recipe.final_dir, rows, limit, features),
            "ctranslate2_int8": convert.score_ctranslate2(ct2_dir, rows, limit, features),
            "onnx": convert.score_onnx(onnx_dir, rows, limit, features),
            "base": convert.score_ctranslate2(
                Path(run.base_version.model_path), rows, limit, features
            ),
        }
        stored = {name: score.as_dict() for name, score in scores.items()}
        gate = gate_decision(scores=stored, margin=run.gate_margin)
        _check_cancel(run)
        return _finish(run, recipe, ct2_dir, stored, gate, started, cpu_before)
    except RunStopped as stopped:
        FineTuneRun.objects.filter(id=run.id).exclude(
            status__in=FineTuneRun.FINISHED_STATUSES
        ).update(
            status=stopped.status,
            error_code=stopped.code,
            error_message=stopped.message,
            finished_at=timezone.now(),
            wall_seconds=time.perf_counter() - started,
        )
        run.refresh_from_db()
        _publish(run)
        return run
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            finetune_run_mark_failed(
                run_id=run.id,
                code="disk_full",
                message=f"The disk under {recipe.out} is full: {exc}. Checkpoints so far are kept.",
            )
            return FineTuneRun.objects.get(id=run.id)
        raise


TRAINING_PACKAGES = ("torch", "transformers", "peft", "optimum.onnxruntime", "ctranslate2")


def _require_training_packages() -> None:
    missing = []
    for name in TRAINING_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # its parent package is missing
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise RunStopped(
            FineTuneRun.Status.FAILED,
            "training_packages_missing",
            f"This worker cannot train: {', '.join(missing)} missing. Training workers install "
            "requirements-train.txt (pip install -r requirements-train.txt).",
        )


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@transaction.atomic
def _finish(
    run: FineTuneRun,
    recipe: Recipe,
    ct2_dir: Path,
    scores: dict[str, dict[str, Any]],
    gate: dict[str, Any],
    started: float,
    cpu_before: float,
) -> FineTuneRun:
    run.refresh_from_db()
    run.scores = scores
    run.gate = gate
    run.finished_at = timezone.now()
    run.wall_seconds = time.perf_counter() - started
    run.cpu_seconds = _cpu_seconds() - cpu_before
    if gate["passed"]:
        served = scores["ctranslate2_int8"]
        run.registered_version = model_version_register(
            name=run.name,
            path=ct2_dir,
            base=run.base_version,
            run_id=run.id,
            data={
                "train_manifest": run.train_manifest,
                "eval_manifest": run.eval_manifest,
                "summary": run.data_summary,
                "method": run.method,
                "init": run.init,
                "hyperparameters": dataclasses.asdict(recipe),
            },
            evaluation={
                **served,
                "formats": {k: v["wer"] for k, v in scores.items()},
                "gate": gate,
                # The base on the same set: the registry compares the version with its base.
                "base": scores["base"],
            },
            notes="forgetting: Russian WER worse than the base's" if gate["forgetting"] else "",
            actor=f"run {run.name}",
        )
        run.status = FineTuneRun.Status.DONE
    else:
        run.status = FineTuneRun.Status.REJECTED
        run.error_code = "gate_refused"
        run.error_message = (
            f"The conversion lost more than {gate['margin']:.3f} WER against the checkpoint: "
            + ", ".join(f"{name} {gate['deltas'][name]:+.3f}" for name in gate["refused"])
            + ". Not registered."
        )
    run.save()
    transaction.on_commit(lambda: _publish(run))
    return run

"""Evaluation runs made without the model, for page and service tests; manifests; and
`manage.py evaluate` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tests.factories import EvaluationRunFactory
from tests.support import (
    ARTIFACTS,
    CLIPS,
    EVAL_STEMS,
    PYTHON,
    ROOT,
    TINY_RUN,
    TRAIN_STEMS,
    Clip,
    process_env,
)
from tests.support import write_manifest as write_stem_manifest
from training.finetune.recipe import Recipe
from training.models import EvaluationRun
from training.services import evaluation_item_create, evaluation_run_create, evaluation_run_finish
from uzwhisper.lib.manifests import Manifest, ManifestRow, SkippedLine


def row(key: str, line: int, **fields) -> ManifestRow:
    clip = CLIPS[key]
    values = {
        "line": line,
        "audio": f"{clip.language}/{clip.path.name}",
        "audio_path": clip.path,
        "text": clip.text,
        "language": clip.language,
        **fields,
    }
    return ManifestRow(**values)


def make_run(
    *, hypotheses: dict[int, str] | None = None, manifest_name: str = "dev.jsonl"
) -> EvaluationRun:
    """A finished run over one Russian and one Uzbek clip with the given hypotheses (by line)."""
    rows = [row("vm-sorry", 1, source="Asterisk prompts"), row("usc_1131474547_2_29208_1", 3)]
    hypotheses = hypotheses or {1: "Извините, ваш выбор не понят системой.", 3: "ammo boshqa bir"}
    skipped = [SkippedLine(2, "missing_audio", "audio file not found: uz/gone.wav")]
    manifest = Manifest(path=Path("/data") / manifest_name, rows=rows, skipped=skipped)
    run = evaluation_run_create(manifest=manifest, model_path="/models/whisper-base")
    for index, manifest_row in enumerate(rows):
        evaluation_item_create(
            run=run,
            index=index,
            row=manifest_row,
            language_requested=manifest_row.language,
            language_decoded=manifest_row.language,
            hypothesis=hypotheses[manifest_row.line],
            duration_s=3.0,
            processing_seconds=0.3,
        )
    return evaluation_run_finish(run=run, skipped=skipped, processing_seconds=0.6)


def write_manifest(path: Path, clips: list[Clip], **fields) -> Path:
    """A manifest at `path` over `clips` (in that order, repeats allowed), audio paths relative."""
    lines = [
        json.dumps(
            {
                "audio": os.path.relpath(clip.path, path.parent),
                "text": clip.text,
                "language": clip.language,
                **fields,
            },
            ensure_ascii=False,
        )
        for clip in clips
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class EvaluateProcess:
    """`manage.py evaluate` as a real process on the test database, its stdout and stderr kept
    apart in test-artifacts/."""

    def __init__(self, name: str, *args: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.stdout_path = ARTIFACTS / f"{name}.stdout.log"
        self.stderr_path = ARTIFACTS / f"{name}.stderr.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [PYTHON, "manage.py", "evaluate", *args],
                cwd=ROOT,
                env=process_env(),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            tail = self.stderr[-3000:]
            raise AssertionError(f"evaluate still running after {timeout} s:\n{tail}") from exc

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.1)


def make_run_running(*, heartbeat_age: timedelta) -> EvaluationRun:
    """A run still `running`, one clip scored, whose process last showed progress
    `heartbeat_age` ago."""
    run = EvaluationRunFactory(heartbeat_at=timezone.now() - heartbeat_age)
    evaluation_item_create(
        run=run,
        index=0,
        row=row("vm-sorry", 1),
        language_requested="ru",
        language_decoded="ru",
        hypothesis="Извините, ваш выбор не понят системой.",
        duration_s=2.6,
        processing_seconds=0.3,
    )
    return run


def tiny_recipe(root: Path, **changes) -> Recipe:
    """The tests' tiny fine-tune (a randomly initialised Whisper with the bundled model's
    tokenizer) on the training and evaluation clips of `tests.support`, writing under `root`."""
    base = Path(settings.WHISPER_MODEL)
    return Recipe(
        output_dir=str(root / "run"),
        tokenizer_dir=str(base),
        train_manifest=str(write_stem_manifest(root / "train.jsonl", TRAIN_STEMS)),
        eval_manifest=str(write_stem_manifest(root / "eval.jsonl", EVAL_STEMS)),
        base_ct2_config=str(base / "config.json"),
        init="tiny-random",
        **{**TINY_RUN, **changes},
    )

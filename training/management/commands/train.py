"""`manage.py train`: launch a fine-tune run from a terminal, as the web page does.

    manage.py train --name uz-v1 --data collection|annotation|both|<manifest.jsonl>|<data.zip> \
        [--eval dev|test|<manifest.jsonl>|<data.zip>] [--base "<version name>"] \
        [--method full|lora] [--init checkpoint|tiny-random] \
        [--set max_steps=4000 --set learning_rate=1e-5 ...] [--confirm-overlap] [--here]

By default the run goes to the `train` queue and the command follows it until it ends; with
`--here` it runs in this process (no worker needed). The data sources are
training.finetune.data's; `--train` is the old name of `--data`."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.finetune import execution, services
from training.finetune.data import EVAL_SPLITS, EXPORT_SOURCES, DataChoice
from training.models import FineTuneRun
from transcription import selectors as transcription_selectors
from transcription.models import ModelVersion
from transcription.services.registry import model_version_bundled
from uzwhisper.errors import ApplicationError


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _choice(value: str, *, keywords: tuple[str, ...], files: ExitStack) -> DataChoice:
    """A source keyword, a ZIP to upload, or a manifest's path."""
    if value in keywords:
        return DataChoice(value)
    if value.lower().endswith(".zip"):
        try:
            return DataChoice("upload", upload=files.enter_context(open(value, "rb")))
        except OSError as exc:
            raise CommandError(f"Cannot open {value}: {exc.strerror}.") from exc
    return DataChoice("manifest", manifest=value)


class Command(BaseCommand):
    help = "Fine-tune Whisper on a training manifest, convert, evaluate, gate and register."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--data",
            "--train",
            dest="data",
            required=True,
            help="collection, annotation, both, a manifest (JSONL) or a ZIP of manifest.jsonl "
            "and audio",
        )
        parser.add_argument(
            "--eval",
            default="dev",
            help="dev or test (a split of the export), or a manifest or ZIP (default dev)",
        )
        parser.add_argument("--base", default="", help="base version name (default: production)")
        parser.add_argument("--method", choices=FineTuneRun.Method.values, default="full")
        parser.add_argument("--init", choices=FineTuneRun.Init.values, default="checkpoint")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--confirm-overlap", action="store_true")
        parser.add_argument("--here", action="store_true", help="run in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        model_version_bundled()
        if options["base"]:
            base = ModelVersion.objects.filter(name=options["base"]).first()
            if base is None:
                raise CommandError(f"No model version named {options['base']!r}.")
        else:
            base = transcription_selectors.model_version_production() or model_version_bundled()
        hyperparameters = {}
        for pair in options["set"]:
            key, _, value = pair.partition("=")
            hyperparameters[key.strip()] = _value(value.strip())
        try:
            with ExitStack() as files:
                run = services.finetune_run_create(
                    name=options["name"],
                    base_version=base,
                    data=_choice(options["data"], keywords=tuple(EXPORT_SOURCES), files=files),
                    evaluation=_choice(options["eval"], keywords=EVAL_SPLITS, files=files),
                    method=options["method"],
                    init=options["init"],
                    hyperparameters=hyperparameters,
                    confirm_overlap=options["confirm_overlap"],
                    enqueue=not options["here"],
                )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        self.stdout.write(f"Run {run.name} ({run.id}) created; output in {run.output_dir}")
        if options["here"]:
            execution.finetune_run_execute(run_id=run.id)
        self._follow(run)

    def _follow(self, run: FineTuneRun) -> None:
        shown = 0
        last_status = ""
        while True:
            run.refresh_from_db()
            if run.status != last_status:
                self.stdout.write(f"status: {run.status}")
                last_status = run.status
            for point in run.metrics[shown:]:
                self.stdout.write(json.dumps(point))
            shown = len(run.metrics)
            if run.status in FineTuneRun.FINISHED_STATUSES:
                break
            time.sleep(1)
        for name, score in run.scores.items():
            self.stdout.write(f"{name}: WER {score['wer']} CER {score['cer']}")
        if run.gate:
            self.stdout.write(f"gate: {json.dumps(run.gate)}")
        if run.status == FineTuneRun.Status.DONE:
            self.stdout.write(self.style.SUCCESS(f"Registered candidate {run.registered_version}"))
        else:
            raise CommandError(f"Run {run.status}: {run.error_message}")

"""`manage.py rebuild_base_checkpoint`: the transformers checkpoint of the bundled Whisper base,
rebuilt from its CTranslate2 model.bin into `<model dir>/hf`, so fine-tune runs can start from
the base (no model hub is reachable). Idempotent; `--force` rebuilds. Needs
requirements-train.txt (torch, transformers)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Rebuild a transformers checkpoint of the bundled Whisper base into <model dir>/hf."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model-dir",
            default=str(settings.BUNDLED_MODEL_DIR),
            help="The CTranslate2 Whisper base directory (default: the bundled model).",
        )
        parser.add_argument("--force", action="store_true", help="Rebuild even if present.")

    def handle(self, *args: Any, model_dir: str, force: bool, **options: Any) -> None:
        try:
            # Heavy (torch, transformers): imported only when the command runs.
            from training.finetune.base_checkpoint import (
                CheckpointRebuildError,
                is_rebuilt,
                rebuild_base_checkpoint,
            )
        except ImportError as exc:
            raise CommandError(
                f"Rebuilding needs the training packages ({exc}): "
                "pip install -r requirements-train.txt"
            ) from exc
        source = Path(model_dir)
        if not (source / "model.bin").is_file():
            raise CommandError(
                f"{source} has no model.bin: run `manage.py assemble_model` first, or pass "
                "--model-dir."
            )
        if is_rebuilt(source) and not force:
            self.stdout.write(f"Checkpoint already rebuilt from this model.bin: {source / 'hf'}")
            return
        started = time.perf_counter()
        try:
            target = rebuild_base_checkpoint(source, force=force)
        except (CheckpointRebuildError, OSError) as exc:
            raise CommandError(f"Could not rebuild the checkpoint from {source}: {exc}") from exc
        self.stdout.write(
            f"Rebuilt {target} from {source / 'model.bin'} in {time.perf_counter() - started:.1f} s"
        )

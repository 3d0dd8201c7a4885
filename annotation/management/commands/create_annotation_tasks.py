"""manage.py create_annotation_tasks: annotation tasks from finished transcription jobs,
validated collection clips, or a JSONL manifest (`audio`, `text`, `language`, `speaker`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.services import (
    tasks_create_from_clips,
    tasks_create_from_jobs,
    tasks_import_manifest,
)
from uzwhisper.errors import ApplicationError


class Command(BaseCommand):
    help = "Create annotation tasks from jobs, clips or a manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jobs", nargs="+", type=uuid.UUID, default=[], help="job ids")
        parser.add_argument("--clips", nargs="+", type=uuid.UUID, default=[], help="clip ids")
        parser.add_argument("--manifest", type=Path, help="a JSONL manifest to import")
        parser.add_argument(
            "--double", action="store_true", help="blind double annotation (two annotators)"
        )

    def handle(
        self,
        *args: Any,
        jobs: list[uuid.UUID],
        clips: list[uuid.UUID],
        manifest: Path | None,
        double: bool,
        **options: Any,
    ) -> None:
        required = 2 if double else 1
        made = 0
        try:
            if jobs:
                made += len(
                    tasks_create_from_jobs(
                        job_ids=jobs, created_by=None, required_annotations=required
                    )
                )
            if clips:
                made += len(
                    tasks_create_from_clips(
                        clip_ids=clips, created_by=None, required_annotations=required
                    )
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if manifest is not None:
            if not manifest.is_file():
                raise CommandError(f"No manifest at {manifest}.")
            result = tasks_import_manifest(
                path=manifest, created_by=None, required_annotations=required
            )
            made += len(result.tasks)
            for refusal in result.refused:
                self.stderr.write(f"{manifest.name}: {refusal}")
        if not made:
            raise CommandError("No task made: name --jobs, --clips or --manifest.")
        self.stdout.write(f"Made {made} annotation task(s).")

"""manage.py export_dataset: Common Voice TSVs and JSONL manifests with 16 kHz WAV audio and
speaker-disjoint splits (training.datasets, the one exporter), from one of two sources:
validated collection clips (the default) or approved annotations (`--source annotation`: one
row per transcribed segment, its audio cut from the recording)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from training.dataset_sources import SOURCES, source_rows
from training.datasets import export_dataset


class Command(BaseCommand):
    help = "Export collected clips or approved annotations: Common Voice TSVs, JSONL manifests "
    "and 16 kHz WAV audio."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="folder (default var/datasets/<date>)")
        parser.add_argument(
            "--source",
            choices=SOURCES,
            default="collection",
            help="validated collection clips (default) or approved annotations",
        )
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="only clips recorded after this date (YYYY-MM-DD): a dated delta",
        )
        parser.add_argument("--seed", type=int, default=0, help="orders equal-sized speakers")

    def handle(
        self,
        *args: Any,
        out: Path | None,
        source: str,
        since: dt.date | None,
        seed: int,
        **options: Any,
    ) -> None:
        since_at = (
            dt.datetime.combine(since, dt.time.max, tzinfo=dt.UTC) if since is not None else None
        )
        stamp = timezone.now().strftime("%Y%m%d")
        name = f"delta-{since:%Y%m%d}-{stamp}" if since else f"full-{stamp}"
        if source == "annotation":
            name = f"annotation-{name}"
        rows, write_wav = source_rows((source,), since=since_at)
        if not rows:
            raise CommandError("No clips to export" + (f" after {since}." if since else "."))
        out = out or Path(settings.VAR_DIR) / "datasets" / name
        summary = export_dataset(rows, out_dir=out, write_wav=write_wav, seed=seed)
        counts = ", ".join(f"{stem} {count}" for stem, count in summary.counts.items())
        self.stdout.write(f"Exported to {summary.out_dir}: {counts}")

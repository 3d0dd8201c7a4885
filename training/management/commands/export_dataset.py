"""manage.py export_dataset: validated collection clips as Common Voice TSVs and JSONL manifests
with 16 kHz WAV audio and speaker-disjoint splits (training.datasets, the one exporter)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from collection.models import Clip
from collection.selectors import clips_for_export
from training.datasets import DatasetClip, export_dataset
from uzwhisper.lib.audio import decode_to_array, write_audio
from uzwhisper.storage import local_audio_path


def dataset_clip(clip: Clip) -> DatasetClip:
    profile = clip.speaker_profile or {}
    return DatasetClip(
        clip_id=str(clip.id),
        speaker=clip.volunteer.pseudonym.hex,
        sentence=clip.prompt.text,
        language=clip.prompt.language,
        status=clip.status,
        up_votes=clip.up_votes,
        down_votes=clip.down_votes,
        age=profile.get("age_band", ""),
        gender=profile.get("gender", ""),
        dialect=profile.get("dialect", ""),
        source=clip.source,
    )


class Command(BaseCommand):
    help = "Export collected clips: Common Voice TSVs, JSONL manifests and 16 kHz WAV audio."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="folder (default var/datasets/<date>)")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="only clips recorded after this date (YYYY-MM-DD): a dated delta",
        )
        parser.add_argument("--seed", type=int, default=0, help="orders equal-sized speakers")

    def handle(
        self, *args: Any, out: Path | None, since: dt.date | None, seed: int, **options: Any
    ) -> None:
        since_at = (
            dt.datetime.combine(since, dt.time.max, tzinfo=dt.UTC) if since is not None else None
        )
        stamp = timezone.now().strftime("%Y%m%d")
        name = f"delta-{since:%Y%m%d}-{stamp}" if since else f"full-{stamp}"
        out = out or Path(settings.VAR_DIR) / "datasets" / name
        clips = {str(c.id): c for c in clips_for_export(since=since_at)}
        if not clips:
            raise CommandError("No clips to export" + (f" after {since}." if since else "."))

        def write_wav(row: DatasetClip, path: Path) -> None:
            with local_audio_path(clips[row.clip_id].audio) as source:
                write_audio(decode_to_array(source), path)

        summary = export_dataset(
            [dataset_clip(c) for c in clips.values()], out_dir=out, write_wav=write_wav, seed=seed
        )
        counts = ", ".join(f"{stem} {count}" for stem, count in summary.counts.items())
        self.stdout.write(f"Exported to {summary.out_dir}: {counts}")

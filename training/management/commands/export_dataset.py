"""manage.py export_dataset: Common Voice TSVs and JSONL manifests with 16 kHz WAV audio and
speaker-disjoint splits (training.datasets, the one exporter), from one of two sources:
validated collection clips (the default) or approved annotations (`--source annotation`: one
row per transcribed segment, its audio cut from the recording)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from annotation.models import Annotation
from annotation.selectors import approved_for_export
from collection.models import Clip
from collection.selectors import clips_for_export
from training.datasets import DatasetClip, export_dataset
from uzwhisper.lib.audio import decode_range, decode_to_array, write_audio
from uzwhisper.storage import local_audio_path

SOURCES = ("collection", "annotation")


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


def segment_language(segment: dict[str, Any], fallback: str) -> str:
    """uz, ru, or mixed (Uzbek carrying Russian) from the segment's word tags."""
    tags = {w.get("language") for w in segment.get("words", [])}
    if {"uz", "ru"} <= tags:
        return "mixed"
    if "ru" in tags:
        return "ru"
    if "uz" in tags:
        return "uz"
    return fallback if fallback in ("uz", "ru", "mixed") else "uz"


def annotation_clips(annotation: Annotation) -> list[tuple[DatasetClip, float, float]]:
    """An approved annotation's transcribed segments as dataset rows with their times. Rows of
    one recording share its pseudonymous speaker key, so they stay in one split."""
    task = annotation.task
    rows = []
    for number, segment in enumerate(annotation.segments):
        if segment.get("untranscribable") or not segment.get("text"):
            continue
        clip = DatasetClip(
            clip_id=f"{task.id.hex}-{number:04d}",
            speaker=task.speaker_key,
            sentence=segment["text"],
            language=segment_language(segment, task.language),
            status="validated",
            dialect=annotation.dialect,
            source=f"annotation-{task.source}",
        )
        rows.append((clip, float(segment["start"]), float(segment["end"])))
    return rows


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
            rows, write_wav = self._annotation_rows(since_at)
        else:
            rows, write_wav = self._collection_rows(since_at)
        if not rows:
            raise CommandError("No clips to export" + (f" after {since}." if since else "."))
        out = out or Path(settings.VAR_DIR) / "datasets" / name
        summary = export_dataset(rows, out_dir=out, write_wav=write_wav, seed=seed)
        counts = ", ".join(f"{stem} {count}" for stem, count in summary.counts.items())
        self.stdout.write(f"Exported to {summary.out_dir}: {counts}")

    def _collection_rows(
        self, since_at: dt.datetime | None
    ) -> tuple[list[DatasetClip], Callable[[DatasetClip, Path], None]]:
        clips = {str(c.id): c for c in clips_for_export(since=since_at)}

        def write_wav(row: DatasetClip, path: Path) -> None:
            with local_audio_path(clips[row.clip_id].audio) as source:
                write_audio(decode_to_array(source), path)

        return [dataset_clip(c) for c in clips.values()], write_wav

    def _annotation_rows(
        self, since_at: dt.datetime | None
    ) -> tuple[list[DatasetClip], Callable[[DatasetClip, Path], None]]:
        annotations = approved_for_export()
        if since_at is not None:
            annotations = annotations.filter(submitted_at__gt=since_at)
        cuts: dict[str, tuple[FieldFile, float, float]] = {}
        rows = []
        for annotation in annotations:
            for clip, start, end in annotation_clips(annotation):
                cuts[clip.clip_id] = (annotation.task.audio, start, end)
                rows.append(clip)

        def write_wav(row: DatasetClip, path: Path) -> None:
            audio, start, end = cuts[row.clip_id]
            with local_audio_path(audio) as source:
                write_audio(decode_range(source, start_s=start, end_s=end), path)

        return rows, write_wav

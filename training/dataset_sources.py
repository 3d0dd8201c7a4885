"""The rows the one exporter (training.datasets) writes, read from the database: validated
collection clips and approved annotations (one row per transcribed segment, its audio cut from
the recording), each with the function that writes a row's audio as 16 kHz WAV. Shared by
`manage.py export_dataset` and fine-tune runs' data (training.finetune.data). Reads other apps
through their selectors only; decodes with PyAV (uzwhisper.lib.audio), never a model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.models.fields.files import FieldFile

from annotation.models import Annotation
from annotation.selectors import approved_for_export
from collection.models import Clip
from collection.selectors import clips_for_export
from uzwhisper.asr.languages import SUPPORTED_LANGUAGES
from uzwhisper.lib.audio import decode_range, decode_to_array, write_audio
from uzwhisper.lib.manifests import MANIFEST_LANGUAGES
from uzwhisper.storage import local_audio_path

from .datasets import DatasetClip

SOURCES = ("collection", "annotation")

WriteWav = Callable[[DatasetClip, Path], None]


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
    if set(SUPPORTED_LANGUAGES) <= tags:
        return "mixed"
    if "ru" in tags:
        return "ru"
    if "uz" in tags:
        return "uz"
    return fallback if fallback in MANIFEST_LANGUAGES else "uz"


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


def collection_rows(*, since: dt.datetime | None = None) -> tuple[list[DatasetClip], WriteWav]:
    """Exported collection clips (validated, invalidated and pending: the exporter writes only
    the validated ones into the splits) and their audio writer."""
    clips = {str(c.id): c for c in clips_for_export(since=since)}

    def write_wav(row: DatasetClip, path: Path) -> None:
        with local_audio_path(clips[row.clip_id].audio) as source:
            write_audio(decode_to_array(source), path)

    return [dataset_clip(c) for c in clips.values()], write_wav


def annotation_rows(*, since: dt.datetime | None = None) -> tuple[list[DatasetClip], WriteWav]:
    """Approved annotations' transcribed segments and the writer that cuts their audio."""
    annotations = approved_for_export()
    if since is not None:
        annotations = annotations.filter(submitted_at__gt=since)
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


def source_rows(
    sources: tuple[str, ...], *, since: dt.datetime | None = None
) -> tuple[list[DatasetClip], WriteWav]:
    """The rows of several sources in one list (one export, so its splits stay
    speaker-disjoint across sources), with a writer that sends each row to its own source's."""
    readers = {"collection": collection_rows, "annotation": annotation_rows}
    rows: list[DatasetClip] = []
    writer_of: dict[str, WriteWav] = {}
    for source in sources:
        source_clips, source_writer = readers[source](since=since)
        for clip in source_clips:
            writer_of[clip.clip_id] = source_writer
        rows.extend(source_clips)

    def write_wav(row: DatasetClip, path: Path) -> None:
        writer_of[row.clip_id](row, path)

    return rows, write_wav

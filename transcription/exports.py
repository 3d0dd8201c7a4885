"""Transcript downloads: TXT, SRT, VTT and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePath

from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.subtitles import to_srt, to_txt, to_vtt

from .models import Job
from .payloads import segment_payload
from .selectors import job_segments, job_status_payload

EXPORT_FORMATS = ("txt", "srt", "vtt", "json")
_CONTENT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


@dataclass(frozen=True)
class Export:
    content: str
    content_type: str
    filename: str


def transcript_json(*, job: Job) -> dict:
    segments = [segment_payload(s) for s in job_segments(job=job)]
    return {
        **job_status_payload(job=job),
        "original_name": job.original_name,
        "model_id": job.model_id,
        "text": " ".join(s["text"] for s in segments if s["text"]),
        "untranscribed_seconds": round(
            sum(s["end"] - s["start"] for s in segments if s["untranscribed"]), 3
        ),
        "segments": segments,
    }


def transcript_export(*, job: Job, fmt: str) -> Export:
    if fmt not in EXPORT_FORMATS:
        raise ApplicationError(
            "unknown_format",
            f"Unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.",
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    if job.status != Job.Status.DONE:
        raise ApplicationError(
            "transcript_not_ready",
            f"The job is {job.status}; the transcript is ready when it is done.",
            status_code=status.HTTP_409_CONFLICT,
        )
    if fmt == "json":
        content = json.dumps(transcript_json(job=job), ensure_ascii=False, indent=2)
    else:
        render = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}[fmt]
        content = render(list(job_segments(job=job)))
    stem = PurePath(job.original_name).stem or "transcript"
    return Export(content, _CONTENT_TYPES[fmt], f"{stem}.{fmt}")

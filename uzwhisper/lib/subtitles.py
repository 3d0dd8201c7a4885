"""Transcript text formats: plain text, SubRip (SRT) and WebVTT. Django-free."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class TimedText(Protocol):
    start: float
    end: float
    text: str


def _timestamp(seconds: float, *, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def srt_timestamp(seconds: float) -> str:
    return _timestamp(seconds, decimal=",")


def vtt_timestamp(seconds: float) -> str:
    return _timestamp(seconds, decimal=".")


def _cue_text(text: str) -> str:
    # A blank line ends a cue in both formats, and "-->" would be read as a timing line.
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines).replace("-->", "->")


def to_txt(segments: Iterable[TimedText]) -> str:
    return "".join(f"{s.text.strip()}\n" for s in segments if s.text.strip())


def to_srt(segments: Iterable[TimedText]) -> str:
    cues = []
    for number, segment in enumerate((s for s in segments if s.text.strip()), start=1):
        cues.append(
            f"{number}\n{srt_timestamp(segment.start)} --> {srt_timestamp(segment.end)}\n"
            f"{_cue_text(segment.text)}\n"
        )
    return "\n".join(cues)


def to_vtt(segments: Iterable[TimedText]) -> str:
    cues = ["WEBVTT\n"]
    for segment in segments:
        if segment.text.strip():
            cues.append(
                f"{vtt_timestamp(segment.start)} --> {vtt_timestamp(segment.end)}\n"
                f"{_cue_text(segment.text)}\n"
            )
    return "\n".join(cues)

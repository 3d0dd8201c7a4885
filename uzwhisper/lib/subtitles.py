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


# What a transcript shows for speech the model could not write (a segment marked
# `untranscribed`), so readers see the gap and annotators can find it.
UNTRANSCRIBED_LABEL = "[speech, not transcribed]"


def _shown_text(segment: TimedText) -> str:
    if getattr(segment, "untranscribed", False):
        return UNTRANSCRIBED_LABEL
    return segment.text.strip()


def to_txt(segments: Iterable[TimedText]) -> str:
    lines = []
    for segment in segments:
        text = _shown_text(segment)
        if getattr(segment, "untranscribed", False):
            # Plain text has no timing of its own: say where the gap is.
            start, end = vtt_timestamp(segment.start), vtt_timestamp(segment.end)
            text = f"{UNTRANSCRIBED_LABEL[:-1]} {start}–{end}]"
        if text:
            lines.append(f"{text}\n")
    return "".join(lines)


def to_srt(segments: Iterable[TimedText]) -> str:
    cues = []
    shown = [(s, _shown_text(s)) for s in segments]
    for number, (segment, text) in enumerate(((s, t) for s, t in shown if t), start=1):
        cues.append(
            f"{number}\n{srt_timestamp(segment.start)} --> {srt_timestamp(segment.end)}\n"
            f"{_cue_text(text)}\n"
        )
    return "\n".join(cues)


def to_vtt(segments: Iterable[TimedText]) -> str:
    cues = ["WEBVTT\n"]
    for segment in segments:
        text = _shown_text(segment)
        if text:
            cues.append(
                f"{vtt_timestamp(segment.start)} --> {vtt_timestamp(segment.end)}\n"
                f"{_cue_text(text)}\n"
            )
    return "\n".join(cues)

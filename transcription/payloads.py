"""The shapes of what clients receive about transcripts, built in one place: a word, a stored
segment (the job socket's `job.segment`, the API, the JSON export) and a committed live piece
(the stream's `final`). Both sockets send words the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .models import Segment, Word


class TimedText(Protocol):
    # Read-only: the ASR core's words are frozen dataclasses.
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def probability(self) -> float: ...


def word_payload(word: TimedText, *, language: str) -> dict[str, Any]:
    return {
        "start": round(word.start, 3),
        "end": round(word.end, 3),
        "text": word.text,
        "probability": round(word.probability, 4),
        "language": language,
    }


def segment_payload(segment: Segment, words: list[Word] | None = None) -> dict[str, Any]:
    """A stored segment; `words` saves a query when the caller has them in order."""
    words = list(segment.words.all()) if words is None else words
    return {
        "index": segment.index,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text,
        "text_latin": segment.text_latin,
        "language": segment.language,
        "code_mixing_index": segment.code_mixing_index,
        "avg_logprob": round(segment.avg_logprob, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
        "untranscribed": segment.untranscribed,
        "words": [word_payload(w, language=w.language) for w in words],
    }


def final_payload(
    *,
    start: float,
    end: float,
    text: str,
    language: str,
    lag_s: float,
    untranscribed: bool,
    words: Sequence[TimedText],
    tags: list[str],
) -> dict[str, Any]:
    """A committed live piece: a stream's `final` message, its words tagged uz / ru / other."""
    return {
        "type": "final",
        "start": round(start, 3),
        "end": round(end, 3),
        "text": text,
        "language": language,
        "lag_s": lag_s,
        "untranscribed": untranscribed,
        "words": [word_payload(w, language=tag) for w, tag in zip(words, tags, strict=True)],
    }

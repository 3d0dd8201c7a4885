"""The shape of an annotation's segments and the rules they obey; one place for both.

A segment: {"start": s, "end": s, "text": str, "speaker": "A"|"B", "untranscribable": bool,
"words": [{"text": str, "language": "uz"|"ru"|"other"}]}. Words are the text split on spaces,
each with a language tag an annotator may correct; a word whose text changed is tagged again
by the word tagger.

Rules: a segment lies within the audio and ends after it starts; segments of one speaker do not
overlap (two speakers may: crosstalk); on submit, every segment has text unless marked "speech,
not transcribable", and there is at least one.
"""

from __future__ import annotations

import itertools
from typing import Any

from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.langid import WORD_LANGUAGES, tag_words

SPEAKERS = ("A", "B")
MAX_SEGMENTS = 5000
MAX_TEXT = 5000
# Boundaries may pass the decoded duration by this much (containers round their durations).
DURATION_SLACK_S = 0.05
# Touching segments of one speaker share a boundary; float rounding must not make them overlap.
OVERLAP_SLACK_S = 0.001


def _invalid(message: str, **details: Any) -> ApplicationError:
    return ApplicationError(
        "invalid_segments",
        message,
        status_code=status.HTTP_400_BAD_REQUEST,
        details=details,
    )


def _number(value: Any, what: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"Segment {index + 1}: {what} must be a number.", segment=index)
    return float(value)


def _words(text: str, given: Any, index: int) -> list[dict[str, str]]:
    tokens = text.split()
    given = given if isinstance(given, list) else []
    tags: list[str | None] = []
    for position, token in enumerate(tokens):
        word = given[position] if position < len(given) else None
        if isinstance(word, dict) and word.get("text") == token:
            language = word.get("language")
            if language is None:  # a word typed since the last save: tagged below
                tags.append(None)
                continue
            if language not in WORD_LANGUAGES:
                raise _invalid(
                    f"Segment {index + 1}: word {token!r} has language {language!r}; "
                    f"one of {', '.join(WORD_LANGUAGES)}.",
                    segment=index,
                )
            tags.append(language)
        else:
            tags.append(None)
    if any(tag is None for tag in tags):
        fresh = tag_words(tokens)
        tags = [tag if tag is not None else fresh[i] for i, tag in enumerate(tags)]
    return [{"text": t, "language": str(tag)} for t, tag in zip(tokens, tags, strict=True)]


def clean_segments(raw: Any, *, duration_s: float, final: bool) -> list[dict[str, Any]]:
    """`raw` checked and normalised (sorted by start, words re-tagged where their text changed),
    or ApplicationError("invalid_segments") naming the first bad segment (1-based, in the order
    given). `final`: the stricter rules of a submission."""
    if not isinstance(raw, list):
        raise _invalid("Segments must be a list.")
    if len(raw) > MAX_SEGMENTS:
        raise _invalid(f"At most {MAX_SEGMENTS} segments.")
    cleaned: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _invalid(f"Segment {index + 1} is not an object.", segment=index)
        start = _number(item.get("start"), "start", index)
        end = _number(item.get("end"), "end", index)
        if start < 0:
            raise _invalid(f"Segment {index + 1} starts before the audio.", segment=index)
        if end <= start:
            raise _invalid(
                f"Segment {index + 1} ends at {end:.2f} s, not after its start {start:.2f} s.",
                segment=index,
            )
        if end > duration_s + DURATION_SLACK_S:
            raise _invalid(
                f"Segment {index + 1} ends at {end:.2f} s, after the audio ({duration_s:.2f} s).",
                segment=index,
            )
        text = item.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise _invalid(
                f"Segment {index + 1}: text must be a string of at most {MAX_TEXT} characters.",
                segment=index,
            )
        text = " ".join(text.split())
        untranscribable = bool(item.get("untranscribable", False))
        speaker = item.get("speaker") or "A"
        if speaker not in SPEAKERS:
            raise _invalid(f"Segment {index + 1}: speaker must be A or B.", segment=index)
        if final and not text and not untranscribable:
            raise _invalid(
                f"Segment {index + 1} has no text. Write what is said, or mark it "
                "“speech, not transcribable”.",
                segment=index,
            )
        cleaned.append(
            {
                "start": round(start, 3),
                "end": round(end, 3),
                "text": text,
                "speaker": speaker,
                "untranscribable": untranscribable,
                "words": _words(text, item.get("words"), index),
                "_given": index,
            }
        )
    if final and not cleaned:
        raise _invalid("There are no segments to submit.")
    for speaker in SPEAKERS:
        own = sorted((s for s in cleaned if s["speaker"] == speaker), key=lambda s: s["start"])
        for before, after in itertools.pairwise(own):
            if after["start"] < before["end"] - OVERLAP_SLACK_S:
                raise _invalid(
                    f"Segments {before['_given'] + 1} and {after['_given'] + 1} overlap. "
                    "Only segments of different speakers may overlap.",
                    segment=after["_given"],
                )
    cleaned.sort(key=lambda s: (s["start"], s["end"]))
    for segment in cleaned:
        del segment["_given"]
    return cleaned


def transcript_text(segments: list[dict[str, Any]]) -> str:
    """The words of the transcribable segments in time order, as one text (for WER)."""
    return " ".join(s["text"] for s in segments if s.get("text") and not s.get("untranscribable"))

"""Transcripts: segments and their words, tagged by language, with code-switching figures.
Used by batch jobs, live sessions and (next) annotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

from ..models import Segment, Word


@dataclass(frozen=True)
class LanguageTags:
    tags: list[str]  # uz / ru / other, one per word
    code_mixing_index: float | None
    text_latin: str


def language_tags(words: list[str], *, text: str, language: str) -> LanguageTags:
    """Tag each word uz / ru / other and give the segment's text with its Uzbek in one Latin
    spelling (Cyrillic Uzbek transliterated, oʻ/gʻ written one way); Russian stays as it is."""
    from uzwhisper.lib.langid import code_mixing_index, tag_words
    from uzwhisper.lib.normalize import to_uzbek_latin

    if not words:
        latin = to_uzbek_latin(text) if language == "uz" else text
        return LanguageTags([], None, latin)
    tags = tag_words(words)
    latin = "".join(
        to_uzbek_latin(word) if tag == "uz" else word for word, tag in zip(words, tags, strict=True)
    ).strip()
    return LanguageTags(tags, round(code_mixing_index(tags), 2), latin)


def transcript_language_units(
    segments: list[tuple[float, str, list[tuple[float, str]]]],
) -> list[tuple[float, str]]:
    """(start, language) units in order for `transcript_switches`, from each segment's start,
    decoded language and (start, tag) words. A segment whose words carry no uz/ru tag (speech
    marked untranscribed, or text the tagger cannot place) still says which language was
    spoken there: it counts as one unit of its decoded language."""
    units: list[tuple[float, str]] = []
    for start, language, words in segments:
        if any(tag in SUPPORTED_LANGUAGES for _, tag in words):
            units.extend(words)
        elif language in SUPPORTED_LANGUAGES:
            units.append((start, language))
        else:
            units.extend(words)
    return units


def transcript_switches(words: list[tuple[float, str]]) -> tuple[float | None, list[dict]]:
    """The code-mixing index of a whole transcript and its switch points, from (start, tag)
    pairs in order."""
    from uzwhisper.lib.langid import code_mixing_index, switch_points

    if not words:
        return None, []
    tags = [tag for _, tag in words]
    points = []
    for index in switch_points(tags):
        before = next(t for t in reversed(tags[:index]) if t in SUPPORTED_LANGUAGES)
        points.append({"time": round(words[index][0], 3), "from": before, "to": tags[index]})
    return round(code_mixing_index(tags), 2), points


def transcript_create(
    *, job_id: uuid.UUID, first_index: int, pieces: list
) -> list[tuple[Segment, list[Word]]]:
    """Insert segments and their words, tagged by language. `pieces` have start, end, text,
    language and words (start, end, text, probability); avg_logprob and no_speech_prob when the
    decoder gave them (live decoding keeps words, not segment scores)."""
    annotations = [
        getattr(piece, "tags", None)
        or language_tags([w.text for w in piece.words], text=piece.text, language=piece.language)
        for piece in pieces
    ]
    segments = Segment.objects.bulk_create(
        Segment(
            job_id=job_id,
            index=first_index + offset,
            start=piece.start,
            end=piece.end,
            text=piece.text,
            text_latin=annotation.text_latin,
            language=piece.language,
            code_mixing_index=annotation.code_mixing_index,
            avg_logprob=getattr(piece, "avg_logprob", 0.0),
            no_speech_prob=getattr(piece, "no_speech_prob", 0.0),
            untranscribed=getattr(piece, "untranscribed", False),
        )
        for offset, (piece, annotation) in enumerate(zip(pieces, annotations, strict=True))
    )
    words_by_segment = [
        [
            Word(
                segment=segment,
                index=i,
                start=w.start,
                end=w.end,
                text=w.text[:255],
                probability=w.probability,
                language=annotation.tags[i],
            )
            for i, w in enumerate(piece.words)
        ]
        for segment, piece, annotation in zip(segments, pieces, annotations, strict=True)
    ]
    Word.objects.bulk_create(word for words in words_by_segment for word in words)
    return list(zip(segments, words_by_segment, strict=True))

"""Word and character error rates, per utterance and aggregated by slice. Django-free.

Both sides go through the project's one normaliser (`normalize_for_scoring`) before jiwer aligns
them, so training, the `evaluate` command and the web report score text the same way.

Aggregates are corpus-level: total errors over total reference words (or characters), never a
mean of per-utterance rates, so that a two-word prompt does not weigh as much as a long sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jiwer

from uzwhisper.lib.normalize import normalize_for_scoring

# The slices every evaluation reports, besides "overall".
SLICE_DIMENSIONS = ("language", "dialect", "code_switched", "source")
OVERALL = "overall"

# A code-switched utterance is scored as Uzbek: the normaliser then writes all Cyrillic in Latin
# on both sides. Left to guess (None), it would decide per text, and a hypothesis could be judged
# Russian (Cyrillic kept) while its reference was judged Uzbek (transliterated): no word would
# match. Russian words are compared in Latin transliteration, the same on both sides.
_SCORING_LANGUAGE = {"uz": "uz", "ru": "ru", "mixed": "uz"}


class EmptyReferenceError(ValueError):
    """The reference holds no words once normalised (only punctuation, or nothing)."""


def scoring_language(language: str | None) -> str | None:
    """The language hint the normaliser gets for text labelled `language` (None: it guesses)."""
    return _SCORING_LANGUAGE.get(language or "")


def normalise(text: str, language: str | None) -> str:
    """`text` as it is scored: the project's normaliser with the hint `scoring_language` picks."""
    return normalize_for_scoring(text, scoring_language(language))


@dataclass(frozen=True)
class ErrorCounts:
    """Edit counts that add up across utterances; rates are derived from the sums."""

    utterances: int = 0
    ref_words: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_chars: int = 0
    char_errors: int = 0

    @property
    def word_errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float | None:
        """None when there is nothing to score against (no reference words)."""
        return self.word_errors / self.ref_words if self.ref_words else None

    @property
    def cer(self) -> float | None:
        return self.char_errors / self.ref_chars if self.ref_chars else None

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(
            utterances=self.utterances + other.utterances,
            ref_words=self.ref_words + other.ref_words,
            substitutions=self.substitutions + other.substitutions,
            deletions=self.deletions + other.deletions,
            insertions=self.insertions + other.insertions,
            ref_chars=self.ref_chars + other.ref_chars,
            char_errors=self.char_errors + other.char_errors,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "utterances": self.utterances,
            "ref_words": self.ref_words,
            "word_errors": self.word_errors,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "ref_chars": self.ref_chars,
            "char_errors": self.char_errors,
            "wer": self.wer,
            "cer": self.cer,
        }


@dataclass(frozen=True)
class UtteranceScore:
    reference: str  # normalised
    hypothesis: str  # normalised
    counts: ErrorCounts

    @property
    def wer(self) -> float:
        return self.counts.wer or 0.0

    @property
    def cer(self) -> float:
        return self.counts.cer or 0.0


def score_normalised(reference: str, hypothesis: str) -> UtteranceScore:
    """Align already-normalised texts. Precondition: `reference` holds at least one word."""
    if not reference.split():
        raise EmptyReferenceError("the reference is empty")
    words = jiwer.process_words(reference, hypothesis)
    chars = jiwer.process_characters(reference, hypothesis)
    counts = ErrorCounts(
        utterances=1,
        ref_words=words.hits + words.substitutions + words.deletions,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        ref_chars=chars.hits + chars.substitutions + chars.deletions,
        char_errors=chars.substitutions + chars.deletions + chars.insertions,
    )
    return UtteranceScore(reference, hypothesis, counts)


def score_utterance(reference: str, hypothesis: str, *, language: str | None) -> UtteranceScore:
    """Normalise both sides for `language` and count word and character edits.

    Raises EmptyReferenceError when the reference normalises to nothing (e.g. only punctuation):
    such a line cannot be scored and is reported rather than counted as zero or infinite error.
    """
    normalised_reference = normalise(reference, language)
    if not normalised_reference.split():
        raise EmptyReferenceError(
            f"the reference {reference!r} is empty after normalising (only punctuation?)"
        )
    return score_normalised(normalised_reference, normalise(hypothesis, language))


def source_label(source: str) -> str:
    """A short, groupable label for a manifest's `source`.

    Manifests often hold a citation per clip ("ISSAI Uzbek Speech Corpus (USC), test split,
    utterance 1131474547_2_29207_1; ..."): slicing on the whole string would give one slice per
    clip, so the slice is the citation's head, up to its first comma, semicolon or parenthesis.
    """
    head = source
    for stop in (",", ";", "("):
        head = head.split(stop, 1)[0]
    return head.strip()[:80] or source.strip()[:80]


def slice_values(
    *,
    language: str,
    dialect: str = "",
    code_switched: bool = False,
    source: str = "",
) -> dict[str, str]:
    """The slice each dimension puts an utterance in. A row without a dialect or source is
    left out of that dimension rather than lumped into an "unknown" slice."""
    values = {
        "language": language,
        "code_switched": "yes" if code_switched or language == "mixed" else "no",
    }
    if dialect.strip():
        values["dialect"] = dialect.strip()
    if source.strip():
        values["source"] = source_label(source)
    return values


@dataclass(frozen=True)
class SliceResult:
    dimension: str  # "overall" or one of SLICE_DIMENSIONS
    value: str
    counts: ErrorCounts

    @property
    def label(self) -> str:
        return OVERALL if self.dimension == OVERALL else f"{self.dimension}={self.value}"

    @property
    def wer(self) -> float | None:
        return self.counts.wer

    @property
    def cer(self) -> float | None:
        return self.counts.cer

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "value": self.value, **self.counts.as_dict()}


def aggregate(counts: Iterable[ErrorCounts]) -> ErrorCounts:
    total = ErrorCounts()
    for one in counts:
        total = total + one
    return total


def aggregate_by_slice(items: Iterable[tuple[Mapping[str, str], ErrorCounts]]) -> list[SliceResult]:
    """Corpus-level counts overall and per slice, from (slice values, counts) per utterance.

    Order: overall first, then dimensions in SLICE_DIMENSIONS order, values sorted.
    """
    overall = ErrorCounts()
    per_slice: dict[str, dict[str, ErrorCounts]] = defaultdict(lambda: defaultdict(ErrorCounts))
    for values, counts in items:
        overall = overall + counts
        for dimension, value in values.items():
            per_slice[dimension][value] = per_slice[dimension][value] + counts
    results = [SliceResult(OVERALL, "all", overall)]
    for dimension in SLICE_DIMENSIONS:
        for value in sorted(per_slice.get(dimension, {})):
            results.append(SliceResult(dimension, value, per_slice[dimension][value]))
    return results

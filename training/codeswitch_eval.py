"""Scoring a code-switched set word by word. Django-free.

A code-switched manifest row knows the language of every reference word (`word_languages`, as
`training.codeswitch_set` writes them). Two measures use that:

- word tags: how often `uzwhisper.lib.langid.tag_words` agrees with the known language, on the
  reference words and on the hypothesis words aligned to them;
- edits by part: a hypothesis's hits, substitutions, deletions and insertions split by the
  language (uz or ru) of the reference words they fall on.

Both take an evaluation run's items (`training.selectors.evaluation_run_result`'s "items": each
with the manifest `index` and the `hypothesis`) and the manifest rows, so `evaluate`, the quality
benchmark and a training run's evaluation can report them alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jiwer

from uzwhisper.lib.langid import LANGUAGES, tag_words
from uzwhisper.lib.metrics import normalise

EDIT_KINDS = ("hits", "substitutions", "deletions", "insertions")


class WordLanguageRow(Protocol):
    """A reference with the known language of each whitespace-separated word
    (`uzwhisper.lib.manifests.ManifestRow`)."""

    @property
    def text(self) -> str: ...

    @property
    def word_languages(self) -> Sequence[str]: ...


def has_word_languages(row: WordLanguageRow) -> bool:
    """Whether `row` gives one language for each of its reference words."""
    return bool(row.word_languages) and len(row.word_languages) == len(row.text.split())


@dataclass
class TagAgreement:
    """Tags compared with known word languages. A word tagged "other" (a number, a name, a
    foreign word) is counted apart and left out of the agreement."""

    compared: int = 0
    other: int = 0
    agree: int = 0
    by_language: dict[str, list[int]] = field(
        default_factory=lambda: {language: [0, 0, 0] for language in LANGUAGES}
    )  # language -> [compared, other, agree]

    def add(self, known: str, tag: str) -> None:
        counts = self.by_language.setdefault(known, [0, 0, 0])
        self.compared += 1
        counts[0] += 1
        if tag not in LANGUAGES:
            self.other += 1
            counts[1] += 1
        elif tag == known:
            self.agree += 1
            counts[2] += 1

    @staticmethod
    def _share(agree: int, compared: int, other: int) -> float | None:
        tagged = compared - other
        return agree / tagged if tagged else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "words_compared": self.compared,
            "tagged_other": self.other,
            "words_tagged_uz_or_ru": self.compared - self.other,
            "agree": self.agree,
            "agreement": self._share(self.agree, self.compared, self.other),
            "agreement_counting_other_as_wrong": (
                self.agree / self.compared if self.compared else None
            ),
            "by_language": {
                language: {
                    "words_compared": compared,
                    "tagged_other": other,
                    "agree": agree,
                    "agreement": self._share(agree, compared, other),
                }
                for language, (compared, other, agree) in self.by_language.items()
            },
        }


def reference_tag_agreement(rows: Iterable[WordLanguageRow]) -> tuple[TagAgreement, int]:
    """`tag_words` on each reference's words against the row's `word_languages`.
    Returns the counts and the number of rows left out (no word languages, or a count that
    does not match the words)."""
    counts, left_out = TagAgreement(), 0
    for row in rows:
        if not has_word_languages(row):
            left_out += 1
            continue
        for known, tag in zip(row.word_languages, tag_words(row.text.split()), strict=True):
            counts.add(known, tag)
    return counts, left_out


def scoring_tokens(words: Sequence[str], labels: Sequence[str]) -> list[tuple[str, str]]:
    """Each written word as the tokens the scorer compares (a code-switched text is scored as
    Uzbek: see `uzwhisper.lib.metrics`), every token keeping its word's label."""
    return [
        (token, label)
        for word, label in zip(words, labels, strict=True)
        for token in normalise(word, "mixed").split()
    ]


@dataclass
class HypothesisWords:
    tags: TagAgreement = field(default_factory=TagAgreement)
    ref_words: Counter[str] = field(default_factory=Counter)  # scored reference words, by language
    # By the language of the reference word: hits, substitutions, deletions. An insertion goes
    # to the language of the reference words on either side of it; one between a word of each
    # language could belong to either part and is counted as "at a switch".
    edits: dict[str, Counter[str]] = field(
        default_factory=lambda: {kind: Counter() for kind in EDIT_KINDS}
    )
    insertions_at_switch: int = 0

    def as_dict(self) -> dict[str, Any]:
        by_part = {}
        for language in LANGUAGES:
            counts = {kind: self.edits[kind][language] for kind in EDIT_KINDS}
            words = self.ref_words[language]
            errors = counts["substitutions"] + counts["deletions"] + counts["insertions"]
            by_part[language] = {
                "ref_words": words,
                **counts,
                "share_recognised": counts["hits"] / words if words else None,
                "wer": errors / words if words else None,
            }
        return {
            "tags": self.tags.as_dict(),
            "by_part": by_part,
            "insertions_at_switch": self.insertions_at_switch,
        }


def hypothesis_words(
    items: Iterable[Mapping[str, Any]], rows: Mapping[int, WordLanguageRow] | Sequence[Any]
) -> tuple[HypothesisWords, int]:
    """Tag each hypothesis's words as written, align them to the reference with jiwer, and
    compare the tag of every aligned (equal or substituted) word with the known language of the
    reference word it stands for. Also splits the word edits by the part (uz or ru) they fall
    in. Returns the figures and the number of items left out.

    `items` are an evaluation result's items (`index` into `rows`, `hypothesis`); `rows` are the
    manifest rows they were scored against, by index (a list or a dictionary)."""
    figures, left_out = HypothesisWords(), 0
    for item in items:
        row = rows[item["index"]]
        if not has_word_languages(row):
            left_out += 1
            continue
        reference = scoring_tokens(row.text.split(), row.word_languages)
        hyp_words = item["hypothesis"].split()
        hypothesis = scoring_tokens(hyp_words, tag_words(hyp_words) if hyp_words else [])
        figures.ref_words.update(language for _, language in reference)
        alignment = jiwer.process_words(
            " ".join(token for token, _ in reference), " ".join(token for token, _ in hypothesis)
        )
        for chunk in alignment.alignments[0]:
            if chunk.type == "insert":
                inserted = chunk.hyp_end_idx - chunk.hyp_start_idx
                at = chunk.ref_start_idx
                before = reference[at - 1][1] if at > 0 else None
                after = reference[at][1] if at < len(reference) else None
                if before and after and before != after:
                    figures.insertions_at_switch += inserted
                else:
                    figures.edits["insertions"][before or after or "?"] += inserted
                continue
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                known = reference[chunk.ref_start_idx + offset][1]
                if chunk.type == "delete":
                    figures.edits["deletions"][known] += 1
                    continue
                figures.tags.add(known, hypothesis[chunk.hyp_start_idx + offset][1])
                kind = "hits" if chunk.type == "equal" else "substitutions"
                figures.edits[kind][known] += 1
    return figures, left_out

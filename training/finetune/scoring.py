"""Scoring a model format on an evaluation set with the shared WER/CER code (uzwhisper.lib.metrics):
overall, by slice (language apart) and per clip. Django-free; the heavy imports happen in the
decoders the caller passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uzwhisper.lib.metrics import (
    EmptyReferenceError,
    ErrorCounts,
    aggregate_by_slice,
    score_utterance,
    slice_values,
)

from .recipe import Utterance

# (utterance) -> hypothesis text
Decoder = Callable[[Utterance], str]


@dataclass
class FormatScore:
    """One model format's results: `as_dict()` is what runs and the registry store."""

    name: str
    slices: list[dict[str, Any]]
    clips: list[dict[str, Any]]
    seconds: float

    def slice_wer(self, dimension: str, value: str) -> float | None:
        for row in self.slices:
            if row["dimension"] == dimension and row["value"] == value:
                return row["wer"]
        return None

    @property
    def wer(self) -> float | None:
        return self.slice_wer("overall", "all") if self.slices else None

    @property
    def cer(self) -> float | None:
        return self.slices[0]["cer"] if self.slices else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wer": self.wer,
            "cer": self.cer,
            "slices": self.slices,
            "clips": self.clips,
            "seconds": round(self.seconds, 3),
        }


def score_format(name: str, utterances: list[Utterance], decode: Decoder) -> FormatScore:
    started = time.perf_counter()
    scored: list[tuple[dict[str, str], ErrorCounts]] = []
    clips = []
    for row in utterances:
        hypothesis = decode(row)
        try:
            score = score_utterance(row.text, hypothesis, language=row.language)
        except EmptyReferenceError:
            continue
        scored.append(
            (
                slice_values(
                    language=row.language,
                    dialect=row.dialect,
                    code_switched=row.code_switched,
                    source=row.source,
                ),
                score.counts,
            )
        )
        clips.append(
            {
                "audio": row.audio,
                "language": row.language,
                "speaker": row.speaker,
                "reference": row.text,
                "hypothesis": hypothesis,
                "wer": score.wer,
                "cer": score.cer,
            }
        )
    slices = [s.as_dict() for s in aggregate_by_slice(scored)]
    return FormatScore(name, slices, clips, time.perf_counter() - started)

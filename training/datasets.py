"""The one dataset exporter: Common Voice-style TSVs and JSONL manifests (the format `evaluate`
reads) with speaker-disjoint train/dev/test splits. Django-free: callers hand it rows (from
validated collection clips, approved annotations or a manifest) and a function that writes each
clip's audio as 16 kHz WAV.

Common Voice's columns: client_id path sentence up_votes down_votes age gender accents variant
locale. Every recording of a sentence is kept (Common Voice's default export keeps one): repeat
readings by other speakers are what a model needs for a small language.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

TSV_COLUMNS = (
    "client_id",
    "path",
    "sentence",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "variant",
    "locale",
)
SPLITS = ("train", "dev", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class DatasetClip:
    clip_id: str
    speaker: str  # pseudonymous: never a name, account or Telegram id
    sentence: str
    language: str  # uz, ru, or mixed (Uzbek carrying Russian)
    status: str  # validated, invalidated, or pending
    up_votes: int = 0
    down_votes: int = 0
    age: str = ""
    gender: str = ""
    dialect: str = ""
    source: str = ""  # telegram, web, annotation …

    @property
    def wav_name(self) -> str:
        return f"clips/{self.clip_id}.wav"


def speaker_splits(
    clips: Iterable[DatasetClip],
    *,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, str]:
    """Each speaker's split. No speaker is in two splits; clip counts come as close to
    `fractions` as whole speakers allow. The speakers with the most clips are placed first,
    each into the split furthest below its share; `seed` orders speakers with equal counts.
    Deterministic for the same clips and seed."""
    counts = Counter(clip.speaker for clip in clips)
    total = sum(counts.values())
    placed = dict.fromkeys(SPLITS, 0)

    def tie_break(speaker: str) -> str:
        return hashlib.sha256(f"{seed}:{speaker}".encode()).hexdigest()

    assignment: dict[str, str] = {}
    for speaker in sorted(counts, key=lambda s: (-counts[s], tie_break(s))):
        split = max(
            SPLITS,
            key=lambda name: fractions[SPLITS.index(name)] * total - placed[name],
        )
        assignment[speaker] = split
        placed[split] += counts[speaker]
    return assignment


def tsv_row(clip: DatasetClip) -> dict[str, str]:
    return {
        "client_id": clip.speaker,
        "path": clip.wav_name,
        "sentence": clip.sentence,
        "up_votes": str(clip.up_votes),
        "down_votes": str(clip.down_votes),
        "age": clip.age,
        "gender": clip.gender,
        "accents": clip.dialect,
        # Code-switched prompts are Uzbek sentences carrying Russian: Uzbek, marked.
        "variant": "code-switched" if clip.language == "mixed" else "",
        "locale": "uz" if clip.language == "mixed" else clip.language,
    }


def manifest_row(clip: DatasetClip) -> dict[str, object]:
    """A line of a JSONL manifest as `manage.py evaluate` reads it."""
    return {
        "audio": clip.wav_name,
        "text": clip.sentence,
        # `mixed` makes `evaluate --language manifest` decode the clip in mixed mode.
        "language": clip.language,
        "code_switched": clip.language == "mixed",
        "dialect": clip.dialect,
        "speaker": clip.speaker,
        "source": clip.source,
    }


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    counts: dict[str, int]  # rows per written file stem


def export_dataset(
    clips: Iterable[DatasetClip],
    *,
    out_dir: Path,
    write_wav: Callable[[DatasetClip, Path], None],
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> ExportSummary:
    """Write validated/invalidated/other TSVs, speaker-disjoint train/dev/test TSVs and JSONL
    manifests of the validated clips, and each exported clip's audio (`write_wav(clip, path)`)
    under `out_dir/clips/`."""
    clips = list(clips)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "clips").mkdir(exist_ok=True)
    validated = [c for c in clips if c.status == "validated"]
    by_file: dict[str, list[DatasetClip]] = {
        "validated": validated,
        "invalidated": [c for c in clips if c.status == "invalidated"],
        "other": [c for c in clips if c.status not in ("validated", "invalidated")],
    }
    splits = speaker_splits(validated, fractions=fractions, seed=seed)
    for split in SPLITS:
        by_file[split] = [c for c in validated if splits[c.speaker] == split]

    for clip in clips:
        write_wav(clip, out_dir / clip.wav_name)
    for stem, rows in by_file.items():
        with (out_dir / f"{stem}.tsv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle,
                fieldnames=TSV_COLUMNS,
                delimiter="\t",
                quoting=csv.QUOTE_NONE,
                escapechar="\\",
                lineterminator="\n",
            )
            writer.writeheader()
            writer.writerows(tsv_row(clip) for clip in rows)
    for split in SPLITS:
        with (out_dir / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for clip in by_file[split]:
                handle.write(json.dumps(manifest_row(clip), ensure_ascii=False) + "\n")
    return ExportSummary(out_dir, {stem: len(rows) for stem, rows in by_file.items()})

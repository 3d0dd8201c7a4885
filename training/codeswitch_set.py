"""Building a code-switched (Uzbek ↔ Russian) speech set by joining real clips. Django-free.

Each output clip is a real Uzbek clip and a real Russian clip back to back (the order
alternates: uz→ru, then ru→uz), with a short pause between. The reference is the two texts
joined, `language` is "mixed", `code_switched` is true, and `word_languages` gives each
whitespace-separated reference word its language, so word tags can be checked as well as WER
(`training.codeswitch_eval`). `parts` records where each part lies in time.

`scripts/build_codeswitch_set.py` runs it from the command line; the quality benchmark builds
its set with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from uzwhisper.asr.languages import SAMPLE_RATE
from uzwhisper.lib.audio import decode_to_array, write_audio

ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEECH = ROOT.parent / "shared" / "testdata" / "speech"
BUNDLED_SPEECH = ROOT / "tests" / "data" / "speech"
# Both parts are brought to this RMS level: the Russian prompts (8 kHz studio) and the Uzbek
# corpus clips are recorded at very different levels, and a part much quieter than the other
# would test the recogniser's gain handling rather than its code-switching.
TARGET_RMS = 0.05
MAX_PEAK = 0.99


@dataclass(frozen=True)
class SourceClip:
    audio: str  # relative to the source manifest
    path: Path
    text: str
    language: str
    speaker: str
    license: str


class SourceClipsMissing(Exception):
    """The source folder lacks Uzbek or Russian clips, so no pair can be joined."""


def default_speech_dir() -> Path:
    """../shared/testdata/speech when it exists (beside the repository), else the test data."""
    return SHARED_SPEECH if (SHARED_SPEECH / "manifest.jsonl").is_file() else BUNDLED_SPEECH


def read_source(speech_dir: Path) -> dict[str, list[SourceClip]]:
    by_language: dict[str, list[SourceClip]] = {"uz": [], "ru": []}
    manifest = speech_dir / "manifest.jsonl"
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("language") in by_language and not row.get("code_switched"):
            by_language[row["language"]].append(
                SourceClip(
                    audio=row["audio"],
                    path=speech_dir / row["audio"],
                    text=" ".join(row["text"].split()),
                    language=row["language"],
                    speaker=str(row.get("speaker", "")),
                    license=row.get("license", ""),
                )
            )
    return by_language


def _levelled(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0
    if rms == 0.0:
        return samples
    scaled = samples * (TARGET_RMS / rms)
    peak = float(np.max(np.abs(scaled)))
    if peak > MAX_PEAK:
        scaled *= MAX_PEAK / peak
    return scaled.astype(np.float32)


def join(parts: list[SourceClip], target: Path, *, gap_s: float) -> tuple[float, list[dict]]:
    """Write `parts` one after another into the WAV `target`; (duration, part timings)."""
    gap = np.zeros(round(SAMPLE_RATE * gap_s), dtype=np.float32)
    pieces: list[np.ndarray] = []
    timings: list[dict] = []
    cursor = 0
    for index, part in enumerate(parts):
        if index:
            pieces.append(gap)
            cursor += gap.size
        samples = _levelled(decode_to_array(part.path))
        timings.append(
            {
                "language": part.language,
                "audio": part.audio,
                "text": part.text,
                "start": round(cursor / SAMPLE_RATE, 3),
                "end": round((cursor + samples.size) / SAMPLE_RATE, 3),
            }
        )
        pieces.append(samples)
        cursor += samples.size
    write_audio(np.concatenate(pieces), target)
    return cursor / SAMPLE_RATE, timings


def build(
    *, speech_dir: Path, out_dir: Path, pairs: int | None = None, gap_s: float = 0.4
) -> list[dict]:
    """Write the joined clips and `out_dir/manifest.jsonl`; return the manifest rows.

    Pair i joins the i-th Uzbek and i-th Russian clip (cycling through the shorter list),
    Uzbek first for even i, Russian first for odd i. Default: twice the smaller list's length.
    Raises SourceClipsMissing when `speech_dir/manifest.jsonl` lacks either language.
    """
    source = read_source(speech_dir)
    uzbek, russian = source["uz"], source["ru"]
    if not uzbek or not russian:
        raise SourceClipsMissing(f"{speech_dir} needs both Uzbek and Russian clips")
    count = pairs if pairs is not None else 2 * min(len(uzbek), len(russian))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        uz, ru = uzbek[index % len(uzbek)], russian[index % len(russian)]
        parts = [uz, ru] if index % 2 == 0 else [ru, uz]
        name = f"cs-{index + 1:02d}-{parts[0].language}-{parts[1].language}.wav"
        duration, timings = join(parts, out_dir / name, gap_s=gap_s)
        text = " ".join(part.text for part in parts)
        word_languages = [part.language for part in parts for _ in part.text.split()]
        assert len(word_languages) == len(text.split())
        rows.append(
            {
                "audio": name,
                "text": text,
                "language": "mixed",
                "code_switched": True,
                "word_languages": word_languages,
                "parts": timings,
                "duration_s": round(duration, 3),
                "speaker": "+".join(p.speaker or "unknown" for p in parts),
                "source": f"synthetic uz+ru join; {' + '.join(p.audio for p in parts)}",
                "license": " + ".join(dict.fromkeys(p.license for p in parts if p.license)),
            }
        )
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return rows

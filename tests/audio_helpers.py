"""Make test audio in other formats, and damaged or silent files, from the real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from uzwhisper.lib.audio import AUDIO_FORMATS as FORMATS
from uzwhisper.lib.audio import decode_to_array, write_audio

__all__ = ["FORMATS", "concatenate", "convert", "write_audio"]


def convert(source: Path, target: Path, fmt: str) -> Path:
    return write_audio(decode_to_array(source), target, fmt=fmt)


def concatenate(sources: list[Path], target: Path, *, gap_s: float = 0.3) -> Path:
    gap = np.zeros(int(16000 * gap_s), dtype=np.float32)
    parts = []
    for source in sources:
        parts += [decode_to_array(source), gap]
    return write_audio(np.concatenate(parts), target)

"""Waveform peaks for the annotation editor, computed once on the server. Django-free.

The editor draws its waveform from these (wavesurfer.js's `peaks` + `duration` options) so the
browser never downloads a recording to draw it. Frames are decoded and reduced one at a time:
a two-hour file is never held in memory, only one bucket maximum per output value.

Stored as signed 8-bit values, one per bucket (the largest absolute amplitude in it, 0..127):
a 2-hour recording at the default density is about 200 kB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# Decoding rate for peaks: amplitude envelopes need no more (wavesurfer itself uses 8 kHz).
PEAKS_SAMPLE_RATE = 8000
# Peaks per second of audio: dense enough to zoom into short files, capped in total so a
# long recording's peaks stay small.
MAX_PEAKS_PER_SECOND = 100
MIN_PEAKS_PER_SECOND = 10
MAX_PEAKS = 200_000


@dataclass(frozen=True)
class Peaks:
    duration_s: float  # decoded samples / rate: the figure the editor's timeline uses
    peaks_per_second: int
    data: bytes  # int8 per bucket, 0..127

    def as_floats(self) -> list[float]:
        return [value / 127 for value in np.frombuffer(self.data, dtype=np.int8)]


def peaks_per_second_for(duration_s: float) -> int:
    """The density for a recording of `duration_s`: MAX_PEAKS in total, within the bounds."""
    if duration_s <= 0:
        return MAX_PEAKS_PER_SECOND
    wanted = math.floor(MAX_PEAKS / duration_s)
    return max(MIN_PEAKS_PER_SECOND, min(MAX_PEAKS_PER_SECOND, wanted))


def compute_peaks(path: str | Path, *, duration_hint_s: float = 0.0) -> Peaks:
    """The peaks of the first audio stream of `path`, decoded as mono at PEAKS_SAMPLE_RATE.

    `duration_hint_s` (the stored duration) chooses the density before decoding starts.
    Raises av.error.FFmpegError (or OSError) when the file cannot be read."""
    rate = PEAKS_SAMPLE_RATE
    per_second = peaks_per_second_for(duration_hint_s)
    bucket = rate // per_second
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    out = bytearray()
    carry = np.zeros(0, dtype=np.float32)  # samples of the bucket not yet full
    samples = 0

    def reduce(block: np.ndarray) -> np.ndarray:
        nonlocal out
        whole = len(block) // bucket * bucket
        if whole:
            maxima = np.abs(block[:whole]).reshape(-1, bucket).max(axis=1)
            out += np.clip(np.round(maxima * 127), 0, 127).astype(np.int8).tobytes()
        return block[whole:]

    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for resampled in resampler.resample(frame):
                block = resampled.to_ndarray().reshape(-1)
                samples += len(block)
                carry = reduce(np.concatenate([carry, block]) if len(carry) else block)
        for resampled in resampler.resample(None):
            block = resampled.to_ndarray().reshape(-1)
            samples += len(block)
            carry = reduce(np.concatenate([carry, block]))
    if len(carry):
        out += bytes([min(127, round(float(np.abs(carry).max()) * 127))])
    return Peaks(duration_s=round(samples / rate, 3), peaks_per_second=per_second, data=bytes(out))

"""Make test audio in other formats, and damaged or silent files, from the real clips."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from uzwhisper.lib.audio import decode_to_array

# container, codec, sample rate that codec accepts
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 16000),
    "ogg": ("ogg", "libopus", 48000),
    "opus": ("opus", "libopus", 48000),
    "flac": ("flac", "flac", 16000),
    "m4a": ("ipod", "aac", 16000),
    "webm": ("webm", "libopus", 48000),
    "wav": ("wav", "pcm_s16le", 16000),
}


def write_audio(samples: np.ndarray, path: Path, *, rate: int = 16000, fmt: str = "wav") -> Path:
    """Encode mono float32 `samples` (at `rate`) into `path` as `fmt`."""
    container_name, codec, codec_rate = FORMATS[fmt]
    with av.open(str(path), "w", format=container_name) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=codec_rate)
        frame_size = 1024
        pcm = samples.astype(np.float32)
        for offset in range(0, len(pcm), frame_size):
            frame = av.AudioFrame.from_ndarray(
                pcm[offset : offset + frame_size].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = rate
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def convert(source: Path, target: Path, fmt: str) -> Path:
    return write_audio(decode_to_array(source), target, fmt=fmt)


def concatenate(sources: list[Path], target: Path, *, gap_s: float = 0.3) -> Path:
    gap = np.zeros(int(16000 * gap_s), dtype=np.float32)
    parts = []
    for source in sources:
        parts += [decode_to_array(source), gap]
    return write_audio(np.concatenate(parts), target)

"""Audio inspection, decoding and encoding with PyAV. Django-free.

`inspect_audio` decodes a whole file once (without resampling) so that corrupt, truncated, silent
and over-long audio is refused at upload, before a job exists, instead of failing in a worker.
`write_audio` encodes samples (a built evaluation set, test audio in other formats).
"""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from uzwhisper.asr.languages import SAMPLE_RATE

# Below this peak level (about -60 dBFS) a recording holds nothing Whisper can hear.
SILENCE_PEAK = 0.001
# A file that decodes to less than this share of the duration its header promises is truncated.
TRUNCATION_RATIO = 0.9


class AudioError(Exception):
    """Audio that cannot be used. `code` is stable and shown to API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    codec: str
    container: str
    sample_rate: int
    channels: int
    peak: float


def _declared_duration(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _wav_header_duration(path: Path) -> float:
    """What a PCM WAV header promises. FFmpeg trims its own figure to the bytes present, which
    hides a truncated upload, so the header is read directly."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError, OSError):
        return 0.0


def inspect_audio(path: str | Path, *, max_seconds: float) -> AudioInfo:
    """Decode `path` fully and describe it, or raise AudioError with a stable code."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise AudioError("empty_file", "The file is empty.")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError(
            "not_audio", "The file is not a recognised audio or video format."
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioError("no_audio_stream", "The file holds no audio stream.")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            # FFmpeg found an audio stream but has no decoder for its codec.
            raise AudioError("unsupported_codec", "The audio codec of this file is not supported.")
        codec = stream.codec_context.name
        declared = max(_declared_duration(container, stream), _wav_header_duration(path))
        if declared > max_seconds:
            raise AudioError(
                "audio_too_long",
                f"The audio lasts {declared:.0f} s; the limit is {max_seconds:.0f} s.",
            )
        samples = 0
        peak = 0.0
        sample_rate = stream.codec_context.sample_rate or 0
        try:
            for frame in container.decode(stream):
                sample_rate = frame.sample_rate or sample_rate
                samples += frame.samples
                data = frame.to_ndarray()
                if data.size:
                    peak = max(peak, _peak_of(data))
                if sample_rate and samples / sample_rate > max_seconds:
                    raise AudioError(
                        "audio_too_long",
                        f"The audio lasts over {max_seconds:.0f} s, the limit.",
                    )
        except av.error.FFmpegError as exc:
            if samples == 0:
                raise AudioError(
                    "corrupt_audio", "The audio could not be decoded: the file is damaged."
                ) from exc
            raise AudioError(
                "corrupt_audio",
                f"The audio is damaged after {samples / max(sample_rate, 1):.1f} s.",
            ) from exc
        except NotImplementedError as exc:  # PyAV raises this for codecs FFmpeg cannot decode
            raise AudioError("unsupported_codec", f"The codec {codec!r} is not supported.") from exc
        channels = stream.codec_context.channels

    duration = samples / sample_rate if sample_rate else 0.0
    if samples == 0 or duration < 0.05:
        raise AudioError("zero_length_audio", "The file holds no audio samples.")
    if declared > 1.0 and duration < declared * TRUNCATION_RATIO:
        raise AudioError(
            "truncated_audio",
            f"The file is truncated: its header promises {declared:.1f} s "
            f"but only {duration:.1f} s decode.",
        )
    if peak < SILENCE_PEAK:
        raise AudioError("silent_audio", "The audio is silent: nothing to transcribe.")
    return AudioInfo(
        duration_s=round(duration, 3),
        codec=codec,
        container=container.format.name,
        sample_rate=sample_rate,
        channels=channels,
        peak=round(peak, 4),
    )


def _peak_of(data: np.ndarray) -> float:
    if np.issubdtype(data.dtype, np.integer):
        scale = float(np.iinfo(data.dtype).max)
        return float(np.abs(data.astype(np.float32)).max()) / scale
    value = float(np.abs(data).max())
    return 0.0 if math.isnan(value) else value


def decode_to_array(path: str | Path, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode to mono float32 at `sample_rate` (what Whisper reads)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


# format name -> (container, codec, a sample rate the codec accepts): ours where it can
AUDIO_FORMATS = {
    "mp3": ("mp3", "libmp3lame", SAMPLE_RATE),
    "ogg": ("ogg", "libopus", 48000),
    "opus": ("opus", "libopus", 48000),
    "flac": ("flac", "flac", SAMPLE_RATE),
    "m4a": ("ipod", "aac", SAMPLE_RATE),
    "webm": ("webm", "libopus", 48000),
    "wav": ("wav", "pcm_s16le", SAMPLE_RATE),
}


def write_audio(
    samples: np.ndarray, path: Path, *, rate: int = SAMPLE_RATE, fmt: str = "wav"
) -> Path:
    """Encode mono float32 `samples` (at `rate`) into `path` as `fmt` (a key of AUDIO_FORMATS)."""
    container_name, codec, codec_rate = AUDIO_FORMATS[fmt]
    with av.open(str(path), "w", format=container_name) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)  # for the type checker: an audio codec
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


def decode_range(
    path: str | Path, *, start_s: float, end_s: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Mono float32 at `sample_rate` of [start_s, end_s) only: seeks near `start_s` and stops at
    `end_s`, so a segment of a long recording is cut without decoding (or holding) the rest."""
    if end_s <= start_s:
        return np.zeros(0, dtype=np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    first_sample: int | None = None
    decoded = 0
    wanted_end = round(end_s * sample_rate)
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        if start_s > 1.0:
            # Seek to a keyframe at or before the start (in microseconds, AV_TIME_BASE).
            container.seek(int((start_s - 0.5) * av.time_base), any_frame=False, backward=True)
        for frame in container.decode(stream):
            if first_sample is None:
                frame_time = float(frame.time) if frame.time is not None else 0.0
                first_sample = round(frame_time * sample_rate)
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                decoded += out.samples
            if first_sample + decoded >= wanted_end:
                break
    if not chunks or first_sample is None:
        return np.zeros(0, dtype=np.float32)
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    begin = max(0, round(start_s * sample_rate) - first_sample)
    return audio[begin : max(begin, wanted_end - first_sample)]

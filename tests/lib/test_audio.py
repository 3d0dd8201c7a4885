from __future__ import annotations

import numpy as np
import pytest

from tests.audio_helpers import FORMATS, convert, write_audio
from tests.support import CLIPS
from uzwhisper.lib.audio import AudioError, decode_to_array, inspect_audio

RU = CLIPS["demo-nogo"]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_accepted_format_decodes_to_the_clip_duration(tmp_path, fmt):
    path = convert(RU.path, tmp_path / f"clip.{fmt}", fmt)
    info = inspect_audio(path, max_seconds=600)
    # Lossy codecs pad by a few frames; more than a tenth of a second would mean lost audio.
    assert info.duration_s == pytest.approx(RU.duration_s, abs=0.1)
    assert info.peak > 0.05


def test_decode_to_array_resamples_8khz_telephony_to_16khz_mono():
    audio = decode_to_array(RU.path)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert len(audio) / 16000 == pytest.approx(RU.duration_s, abs=0.05)


def _code(path, **kwargs) -> str:
    with pytest.raises(AudioError) as caught:
        inspect_audio(path, max_seconds=kwargs.get("max_seconds", 600))
    assert caught.value.message  # every refusal says why in words
    return caught.value.code


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert _code(path) == "empty_file"


def test_bytes_that_are_not_audio(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_bytes(b"This is a text file pretending to be audio.\n" * 50)
    assert _code(path) == "not_audio"


def test_truncated_wav_is_refused(tmp_path):
    data = RU.path.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 3])  # the header still promises the whole clip
    assert _code(path) == "truncated_audio"


def test_corrupt_mp3_is_refused(tmp_path):
    good = convert(RU.path, tmp_path / "good.mp3", "mp3").read_bytes()
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, size=len(good) - 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "bad.mp3"
    path.write_bytes(good[:2000] + noise)
    assert _code(path) in {"corrupt_audio", "truncated_audio", "not_audio"}


def test_zero_length_audio(tmp_path):
    import wave

    path = tmp_path / "none.wav"
    with wave.open(str(path), "wb") as wav:  # a valid header and no samples
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
    assert _code(path) == "zero_length_audio"


def test_silence_only(tmp_path):
    path = write_audio(np.zeros(16000 * 3, dtype=np.float32), tmp_path / "quiet.wav")
    assert _code(path) == "silent_audio"


def test_audio_over_the_duration_limit(tmp_path):
    assert _code(RU.path, max_seconds=5) == "audio_too_long"


def test_video_container_without_audio_stream(tmp_path):
    import av

    path = tmp_path / "picture.webm"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx", rate=5)
        stream.width, stream.height = 32, 32
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert _code(path) == "no_audio_stream"

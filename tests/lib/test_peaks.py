"""Waveform peaks and range decoding (uzwhisper.lib.peaks, uzwhisper.lib.audio.decode_range)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audio_helpers import write_audio
from tests.support import CLIPS
from uzwhisper.lib.audio import decode_range, decode_to_array
from uzwhisper.lib.peaks import MAX_PEAKS, compute_peaks, peaks_per_second_for


def test_peaks_follow_the_signal_bucket_by_bucket(tmp_path):
    # One second of silence, one of a half-scale tone, one of silence.
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    samples = np.concatenate([np.zeros(rate, np.float32), tone, np.zeros(rate, np.float32)])
    path = write_audio(samples, tmp_path / "tone.wav")
    peaks = compute_peaks(path, duration_hint_s=3.0)
    values = np.frombuffer(peaks.data, dtype=np.int8)
    assert peaks.peaks_per_second == 100
    assert peaks.duration_s == pytest.approx(3.0, abs=0.01)
    assert len(values) == pytest.approx(300, abs=1)
    assert values[:95].max() <= 1
    assert values[110:190].min() == pytest.approx(64, abs=2)  # 0.5 of 127
    assert values[210:].max() <= 1


def test_long_recordings_get_fewer_peaks_per_second():
    assert peaks_per_second_for(60) == 100
    assert peaks_per_second_for(2 * 3600) == 27
    assert peaks_per_second_for(2 * 3600) * 2 * 3600 <= MAX_PEAKS
    assert peaks_per_second_for(100 * 3600) == 10


@pytest.mark.parametrize(("start", "end"), [(0.0, 0.5), (2.3, 4.1), (9.9, 10.5)])
def test_decode_range_matches_the_full_decode(start, end):
    path = CLIPS["demo-nogo"].path
    full = decode_to_array(path)
    part = decode_range(path, start_s=start, end_s=end)
    first = round(start * 16000)
    expected = full[first : round(end * 16000)]
    assert len(part) == len(expected)
    assert np.abs(part - expected).max() < 1e-4

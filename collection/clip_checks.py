"""The automatic checks a recorded clip goes through, and their thresholds.

Two stages. The signal checks (`signal_checks`) run where the clip arrives (web view, bot): they
need only the decoded samples, so a bad take is refused at once and nothing is stored. The model
checks (`collection.model_checks`, on the ASR worker, which holds Whisper) hear speech with the
VAD, measure the speaking rate and compare the model's transcript with the prompt (CER).

Every check's figures are kept with the clip (`Clip.checks`), passed or not, so the thresholds can
be tuned on real data later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# A take shorter than this is a tap, not a reading (Common Voice's recorder refuses under 1 s).
MIN_CLIP_SECONDS = 1.0
# Reading rates bound a prompt's duration: slow careful reading to fast speech, in characters
# (spaces included) per second, plus room for the pause before and after.
SLOWEST_CHARS_PER_SECOND = 4.0
FASTEST_CHARS_PER_SECOND = 30.0
LEAD_IN_SECONDS = 4.0
# Below this RMS (dBFS) over the whole clip nothing audible was recorded, even if a click peaked.
SILENT_RMS_DBFS = -55.0
# Samples at or beyond this magnitude count as at full scale.
FULL_SCALE = 0.99
# A run of this many full-scale samples in a row is a flattened peak, not a loud sample.
CLIPPED_RUN = 3
# Refused when this share of the samples lies in flattened peaks (0.1 %: a few peaks in a
# normal loud reading pass, a recording driven into the rails does not).
MAX_CLIPPED_SHARE = 0.001


@dataclass(frozen=True)
class Refusal:
    """Why a clip is refused: a stable `code` for programs and a `message` for the volunteer."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class DurationBounds:
    shortest_s: float
    longest_s: float


def duration_bounds(prompt_text: str, *, max_clip_seconds: float) -> DurationBounds:
    """How long a reading of `prompt_text` can plausibly last."""
    chars = len(" ".join(prompt_text.split()))
    shortest = max(MIN_CLIP_SECONDS, chars / FASTEST_CHARS_PER_SECOND)
    longest = min(max_clip_seconds, LEAD_IN_SECONDS + chars / SLOWEST_CHARS_PER_SECOND)
    return DurationBounds(round(shortest, 2), round(max(longest, shortest + 1.0), 2))


@dataclass(frozen=True)
class SignalReport:
    duration_s: float
    peak: float
    rms_dbfs: float
    clipped_share: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def signal_report(samples: np.ndarray, sample_rate: int) -> SignalReport:
    """Level and clipping of mono float samples at the recording's own rate (resampling would
    round off the flattened peaks clipping leaves)."""
    duration = samples.size / sample_rate if sample_rate else 0.0
    if samples.size == 0:
        return SignalReport(0.0, 0.0, -120.0, 0.0)
    magnitude = np.abs(samples.astype(np.float32, copy=False))
    rms = float(np.sqrt(np.mean(np.square(magnitude, dtype=np.float64))))
    rms_dbfs = 20.0 * np.log10(rms) if rms > 0 else -120.0
    return SignalReport(
        duration_s=round(duration, 3),
        peak=round(float(magnitude.max()), 4),
        rms_dbfs=round(float(rms_dbfs), 1),
        clipped_share=round(_clipped_share(magnitude >= FULL_SCALE), 5),
    )


def _clipped_share(at_full_scale: np.ndarray) -> float:
    """Share of samples inside runs of at least CLIPPED_RUN full-scale samples."""
    if not at_full_scale.any():
        return 0.0
    padded = np.concatenate(([False], at_full_scale, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[::2], edges[1::2]
    lengths = ends - starts
    return float(lengths[lengths >= CLIPPED_RUN].sum()) / at_full_scale.size


def signal_refusal(
    report: SignalReport, *, prompt_text: str, max_clip_seconds: float
) -> Refusal | None:
    """The first signal check `report` fails, or None."""
    bounds = duration_bounds(prompt_text, max_clip_seconds=max_clip_seconds)
    if report.duration_s < bounds.shortest_s:
        return Refusal(
            "clip_too_short",
            f"The recording lasts {report.duration_s:.1f} s; reading this sentence takes at "
            f"least {bounds.shortest_s:.1f} s. Record the whole sentence.",
        )
    if report.duration_s > bounds.longest_s:
        return Refusal(
            "clip_too_long",
            f"The recording lasts {report.duration_s:.1f} s; this sentence needs at most "
            f"{bounds.longest_s:.0f} s. Stop recording after the last word.",
        )
    if report.rms_dbfs < SILENT_RMS_DBFS:
        return Refusal(
            "clip_silent",
            "The recording is silent: check that the microphone is on and not muted.",
        )
    if report.clipped_share > MAX_CLIPPED_SHARE:
        return Refusal(
            "clip_clipped",
            "The recording is distorted (too loud): move a little away from the microphone "
            "or lower its gain.",
        )
    return None


# --- the model checks' thresholds (applied on the worker, see collection.model_checks) ---

# Speaking rate in characters of the prompt per second of speech the VAD hears. Measured on the
# test clips (tests/data/speech): 11–17; outside these bounds the reading is not of this prompt
# or not a reading at all.
SLOWEST_SPEECH_CHARS_PER_SECOND = 5.0
FASTEST_SPEECH_CHARS_PER_SECOND = 28.0


def speaking_rate_refusal(chars_per_second: float) -> Refusal | None:
    if chars_per_second < SLOWEST_SPEECH_CHARS_PER_SECOND:
        return Refusal(
            "speaking_rate_implausible",
            "There is too little speech for this sentence: read the whole sentence aloud.",
        )
    if chars_per_second > FASTEST_SPEECH_CHARS_PER_SECOND:
        return Refusal(
            "speaking_rate_implausible",
            "There is too much speech for this sentence: read only the sentence shown.",
        )
    return None


def transcript_refusal(cer: float, *, max_cer: float | None) -> Refusal | None:
    """Refused when the model's transcript is further from the prompt than `max_cer` allows
    (None: the CER is recorded, never refused on; see COLLECTION_MAX_CER)."""
    if max_cer is None or cer <= max_cer:
        return None
    return Refusal(
        "transcript_mismatch",
        "The recording does not sound like the sentence shown: read exactly the sentence shown.",
    )

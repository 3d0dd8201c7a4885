"""The clip checks that need the model, run on the ASR worker (which holds Whisper): speech heard
by the VAD, speaking rate over that speech, and the character error rate of the model's transcript
against the prompt. The web process and the bot never import this module (see the import
contracts): `clip_run_checks` is the worker's service, called by `collection.tasks.check_clip`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from transcription.serving import serving_model
from uzwhisper.asr import engine
from uzwhisper.asr.languages import LANGUAGE_MODES
from uzwhisper.lib.audio import decode_to_array
from uzwhisper.lib.metrics import EmptyReferenceError, score_utterance
from uzwhisper.storage import local_audio_path

from .clip_checks import Refusal, speaking_rate_refusal, transcript_refusal
from .models import Clip
from .services import clip_refuse


@dataclass(frozen=True)
class ModelCheckResult:
    figures: dict[str, Any]
    refusal: Refusal | None


def decode_language(prompt_language: str) -> str:
    """The language the clip is decoded in: the prompt's (mixed prompts in mixed mode)."""
    return prompt_language if prompt_language in LANGUAGE_MODES else "auto"


def run_model_checks(
    samples: np.ndarray,
    *,
    prompt_text: str,
    prompt_language: str,
    max_cer: float | None,
) -> ModelCheckResult:
    """Check 16 kHz mono `samples` of a reading of `prompt_text`."""
    span = engine.speech_span(samples)
    if span is None:
        return ModelCheckResult(
            {"speech_s": 0.0},
            Refusal(
                "no_speech",
                "No speech was heard in the recording: read the sentence aloud, close to the "
                "microphone.",
            ),
        )
    speech_s = round(span[1] - span[0], 3)
    chars = len(" ".join(prompt_text.split()))
    rate = round(chars / max(speech_s, 0.01), 2)
    figures: dict[str, Any] = {
        "speech_start_s": round(span[0], 3),
        "speech_end_s": round(span[1], 3),
        "speech_s": speech_s,
        "chars_per_second": rate,
    }
    refusal = speaking_rate_refusal(rate)
    if refusal is not None:
        return ModelCheckResult(figures, refusal)

    model = serving_model()  # the production version, as the worker's jobs use
    transcription = engine.transcribe(
        model,
        samples,
        engine.TranscribeOptions(language=decode_language(prompt_language), word_timestamps=False),
    )
    hypothesis = " ".join(s.text.strip() for s in transcription.segments if s.text).strip()
    figures["transcript"] = hypothesis
    figures["model"] = model.model_id
    try:
        cer = score_utterance(prompt_text, hypothesis, language=prompt_language).cer
    except EmptyReferenceError:
        return ModelCheckResult(figures, None)  # a prompt of punctuation only: nothing to score
    figures["cer"] = round(cer, 4)
    figures["max_cer"] = max_cer
    return ModelCheckResult(figures, transcript_refusal(cer, max_cer=max_cer))


def clip_run_checks(*, clip_id: uuid.UUID | str) -> Clip | None:
    """The model checks of a clip in `checking` (the ASR worker's task): speech present, a
    plausible speaking rate, the transcript's CER against the prompt. Ends `unconfirmed` or
    `refused`. Safe to run again: a clip already checked is left as it is."""
    clip = Clip.objects.select_related("prompt").filter(id=clip_id).first()
    if clip is None or clip.status != Clip.Status.CHECKING:
        return clip
    with local_audio_path(clip.audio) as path:
        samples = decode_to_array(path)
    result = run_model_checks(
        samples,
        prompt_text=clip.prompt.text,
        prompt_language=clip.prompt.language,
        max_cer=settings.COLLECTION_MAX_CER.get(clip.prompt.language),
    )
    if result.refusal is not None:
        updated = Clip.objects.filter(id=clip.id, status=Clip.Status.CHECKING).update(
            checks={**clip.checks, "model": result.figures}
        )
        if updated:
            clip_refuse(clip_id=clip.id, refusal=result.refusal)
    else:
        Clip.objects.filter(id=clip.id, status=Clip.Status.CHECKING).update(
            checks={**clip.checks, "model": result.figures}, status=Clip.Status.UNCONFIRMED
        )
    clip.refresh_from_db()
    return clip

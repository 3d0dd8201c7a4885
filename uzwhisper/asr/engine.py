"""The Whisper engine: the only module that imports faster_whisper. Django-free.

A worker process loads a model once (`get_model`) and keeps it; the web process never calls this.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from uzwhisper.asr.languages import SAMPLE_RATE, SUPPORTED_LANGUAGES
from uzwhisper.asr.scripts import clean_text, foreign_script_tokens
from uzwhisper.lib.model_bundle import model_checksum

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

# Mixed mode splits speech at pauses this long; code-switching happens between phrases.
MIXED_PAUSE_MS = 200
# Each part keeps this much audio either side of its speech: Whisper tends to drop a first word
# that starts at the very edge of its window, and the VAD marks onsets a little late.
MIXED_PAD_MS = 250
# Whisper's own test for a decode that has fallen into a loop ("Ə Ə Ə …", "OK OK OK …").
COMPRESSION_RATIO_THRESHOLD = 2.4
# Whisper's own test for a decode it does not believe: below this mean log-probability a window
# is decoded again, hotter.
LOG_PROB_THRESHOLD = -1.0

# The fallback budget. Whisper re-decodes a failed window at temperatures 0.2, 0.4 … 1.0, each
# time sampling 5 hypotheses of up to 448 tokens; zero-shot Whisper base fails almost every
# Uzbek window, so a 4.7 s clip took 46 s. A window now gets at most three attempts, two sampled
# hypotheses each, and no attempt runs past what speech could hold: the test references have
# at most 6.7 tokens per second of audio, so 12 a second (plus room for timestamp tokens) never
# cuts real speech but stops a loop early.
FALLBACK_TEMPERATURES = (0.0, 0.4, 0.8)
FALLBACK_BEST_OF = 2
MAX_TOKENS_PER_SECOND = 12
TOKEN_ALLOWANCE = 16
WHISPER_MAX_LENGTH = 448  # decoder positions: prompt and new tokens together

# Speech no segment covers is marked untranscribed when a gap between segments holds at least
# this much of it: zero-shot Whisper sometimes writes a short text for part of a window and
# ends there, dropping the rest. Over the 37 test clips, the gaps between the segments of
# well-transcribed Russian hold at most 0.3 s of speech; the dropped Uzbek stretches 2.5–3 s.
MIN_UNCOVERED_SPEECH_S = 1.0
# The VAD that measures that speech: split at short pauses, with little padding, so the pauses
# between sentences do not count as speech.
COVERAGE_PAUSE_MS = 200
COVERAGE_PAD_MS = 100


@dataclass(frozen=True)
class EngineConfig:
    model_path: str
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str = ""  # "" picks int8 on CPU and int8_float16 on GPU
    cpu_threads: int = 0  # 0 lets CTranslate2 use every core


@dataclass
class LoadedModel:
    whisper: WhisperModel
    model_id: str
    checksum: str
    device: str
    compute_type: str
    load_seconds: float
    # Per language, the token ids its text cannot hold (see `foreign_script_tokens`).
    foreign_tokens: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TranscribeOptions:
    language: str = "auto"  # auto | uz | ru
    beam_size: int = 1
    vad_filter: bool = True
    word_timestamps: bool = True
    initial_prompt: str = ""
    # Whisper's fallback: decode again hotter when a window looks like a failure. Live streams
    # turn it off: half-heard words at the buffer's edge look like failures on every step.
    temperature: tuple[float, ...] = FALLBACK_TEMPERATURES
    # Speech no segment covers is marked (see MIN_UNCOVERED_SPEECH_S); this one says whether that
    # holds for the speech after the last segment. Live streams turn it off until their final
    # decode: the words at a growing buffer's edge are not decoded yet, not lost.
    mark_speech_after_last_segment: bool = True


@dataclass(frozen=True)
class WordResult:
    start: float
    end: float
    text: str
    probability: float
    language: str = ""  # the language it was decoded in
    # Live decoding only: a stretch of speech the model could not write, standing in the word
    # sequence where its words would be (no text).
    untranscribed: bool = False


@dataclass(frozen=True)
class SegmentResult:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: list[WordResult] = field(default_factory=list)
    language: str = ""
    # Speech the model could not write: every fallback looped, or gave no letters, or nothing
    # came back for audio with speech in it. Kept with its times (and no text) so that
    # transcripts say so and annotators can pick the stretch up.
    untranscribed: bool = False


@dataclass
class Transcription:
    language: str
    language_probability: float
    duration: float
    segments: Iterator[SegmentResult]


_models: dict[EngineConfig, LoadedModel] = {}
_models_lock = threading.Lock()


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def get_model(config: EngineConfig) -> LoadedModel:
    """Load the model for `config` once per process and return the cached instance after."""
    with _models_lock:
        loaded = _models.get(config)
        if loaded is None:
            loaded = _load(config)
            _models[config] = loaded
        return loaded


def release_model(config: EngineConfig) -> None:
    """Forget the model loaded for `config` (its memory goes once no decode holds it)."""
    with _models_lock:
        _models.pop(config, None)


def _load(config: EngineConfig) -> LoadedModel:
    from faster_whisper import WhisperModel

    path = Path(config.model_path)
    if not (path / "model.bin").exists():
        raise FileNotFoundError(f"No Whisper model at {path} (model.bin missing)")
    device = _resolve_device(config.device)
    compute_type = config.compute_type or ("int8_float16" if device == "cuda" else "int8")
    started = time.perf_counter()
    whisper = WhisperModel(
        str(path), device=device, compute_type=compute_type, cpu_threads=config.cpu_threads
    )
    load_seconds = time.perf_counter() - started
    checksum = model_checksum(path)
    model_id = f"{path.name}@{checksum[:12]}"
    logger.info("Loaded %s on %s (%s) in %.2f s", model_id, device, compute_type, load_seconds)
    foreign = foreign_script_tokens(whisper.hf_tokenizer)
    return LoadedModel(whisper, model_id, checksum, device, compute_type, load_seconds, foreign)


# Whisper base hears Uzbek as Azerbaijani, Turkish or Kazakh far more often than as Uzbek, so a
# language's score is its family's: Turkic languages vote for Uzbek, East Slavic ones for Russian.
LANGUAGE_FAMILIES = {
    "uz": ("uz", "az", "tr", "kk", "ky", "tk", "tt", "ba", "ug"),
    "ru": ("ru", "uk", "be"),
}


def detect_language(
    model: LoadedModel, audio: np.ndarray, *, vad_filter: bool
) -> tuple[str, float]:
    """The likelier of Uzbek and Russian for `audio`, with the share of Whisper's probability
    that its language family holds (so 0.5 means a toss-up between the two)."""
    try:
        _, _, all_probs = model.whisper.detect_language(audio, vad_filter=vad_filter)
    except (ValueError, IndexError):
        # VAD found no speech to concatenate: judge the raw audio instead.
        _, _, all_probs = model.whisper.detect_language(audio, vad_filter=False)
    probs = dict(all_probs)
    scores = {
        code: sum(probs.get(member, 0.0) for member in family)
        for code, family in LANGUAGE_FAMILIES.items()
    }
    language = max(SUPPORTED_LANGUAGES, key=lambda code: scores[code])
    total = sum(scores.values())
    return language, float(scores[language] / total) if total else 0.5


# A stretch of speech's samples (as bytes) → its language and share: live `mixed` streams decode
# a growing buffer whose finished stretches do not change between steps.
LanguageCache = dict[bytes, tuple[str, float]]


def transcribe(
    model: LoadedModel,
    audio: np.ndarray,
    options: TranscribeOptions,
    *,
    language_cache: LanguageCache | None = None,
) -> Transcription:
    """Start transcribing 16 kHz mono `audio`; segments are produced lazily as decoding goes.
    `language_cache` (mixed mode) keeps language decisions for stretches seen before."""
    if options.language == "mixed":
        return _transcribe_mixed(model, audio, options, language_cache)
    if options.language == "auto":
        language, probability = detect_language(model, audio, vad_filter=options.vad_filter)
    else:
        language, probability = options.language, 1.0
    segments, info = _decode(model, audio, language, options, vad_filter=options.vad_filter)

    def speech() -> list[SpeechStretch]:
        return [SpeechStretch(start, end, language) for start, end in speech_chunks(audio)]

    return Transcription(
        language=language,
        language_probability=probability,
        duration=float(info.duration),
        segments=_merge_untranscribed(
            _accounting_for_speech(
                (_segment_result(s, language=language) for s in segments),
                speech,
                duration=len(audio) / SAMPLE_RATE,
                mark_tail=options.mark_speech_after_last_segment,
            )
        ),
    )


@dataclass(frozen=True)
class SpeechStretch:
    start: float  # seconds
    end: float
    language: str  # the language a marker over it is in


def _accounting_for_speech(
    results: Iterator[SegmentResult],
    find_speech: Callable[[], list[SpeechStretch]],
    *,
    duration: float,
    mark_tail: bool,
) -> Iterator[SegmentResult]:
    """Pass the results (in time order) on, and account for the speech they leave out: each gap
    between them, before the first and (with `mark_tail`) after the last, that holds at least
    MIN_UNCOVERED_SPEECH_S of speech gets untranscribed markers over that speech. If no result
    holds text, all the speech no result covers is marked whatever its length (markers next to
    each other are merged later), so a transcript never comes back silently empty.
    `find_speech` (the VAD) runs once, and only when a gap is long enough to matter."""
    speech: list[SpeechStretch] | None = None

    def speech_between(start: float, end: float) -> list[SpeechStretch]:
        nonlocal speech
        if end - start < MIN_UNCOVERED_SPEECH_S:
            return []  # cannot hold enough speech: no VAD needed
        speech = find_speech() if speech is None else speech
        return _within(speech, start, end)

    covered: list[tuple[float, float]] = []
    covered_until = 0.0
    wrote_text = False
    for result in results:
        yield from _speech_markers(
            speech_between(covered_until, result.start), MIN_UNCOVERED_SPEECH_S
        )
        yield result
        covered.append((result.start, result.end))
        covered_until = max(covered_until, result.end)
        wrote_text = wrote_text or bool(result.text)
    if not wrote_text:
        speech = find_speech() if speech is None else speech
        yield from _speech_markers(_outside(speech, covered), 0.0)
    elif mark_tail:
        yield from _speech_markers(speech_between(covered_until, duration), MIN_UNCOVERED_SPEECH_S)


def _within(speech: list[SpeechStretch], start: float, end: float) -> list[SpeechStretch]:
    """The parts of `speech` between `start` and `end` seconds."""
    return [
        replace(stretch, start=max(stretch.start, start), end=min(stretch.end, end))
        for stretch in speech
        if min(stretch.end, end) > max(stretch.start, start)
    ]


def _outside(
    speech: list[SpeechStretch], covered: list[tuple[float, float]]
) -> list[SpeechStretch]:
    """The parts of `speech` outside every (start, end) of `covered`."""
    left = speech
    for cover_start, cover_end in covered:
        left = [
            *_within(left, -math.inf, cover_start),
            *_within(left, cover_end, math.inf),
        ]
        left.sort(key=lambda stretch: stretch.start)
    return left


def _speech_markers(speech: list[SpeechStretch], minimum: float) -> Iterator[SegmentResult]:
    """Untranscribed markers over `speech`, if it holds at least `minimum` seconds."""
    if not speech or sum(stretch.end - stretch.start for stretch in speech) < minimum:
        return
    logger.info(
        "Speech no segment covers at %.1f–%.1f s: marked untranscribed",
        speech[0].start,
        speech[-1].end,
    )
    for stretch in speech:
        yield SegmentResult(
            stretch.start, stretch.end, "", 0.0, 0.0, [], stretch.language, untranscribed=True
        )


def speech_chunks(audio: np.ndarray) -> list[tuple[float, float]]:
    """The stretches of speech the VAD hears (seconds), split at short pauses (see
    COVERAGE_PAUSE_MS)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(
        audio,
        VadOptions(min_silence_duration_ms=COVERAGE_PAUSE_MS, speech_pad_ms=COVERAGE_PAD_MS),
    )
    return [(chunk["start"] / SAMPLE_RATE, chunk["end"] / SAMPLE_RATE) for chunk in chunks]


def speech_span(audio: np.ndarray) -> tuple[float, float] | None:
    """Seconds from the first to the last speech the VAD hears, or None for no speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(audio, VadOptions())
    if not chunks:
        return None
    return chunks[0]["start"] / SAMPLE_RATE, chunks[-1]["end"] / SAMPLE_RATE


def _decode(
    model: LoadedModel,
    audio: np.ndarray,
    language: str,
    options: TranscribeOptions,
    *,
    vad_filter: bool,
) -> tuple[Iterator[Any], Any]:
    """Whisper's decode with the project's guards: output only in the language's alphabet, a
    bounded fallback (see FALLBACK_TEMPERATURES), windows past the audio's end left out and
    windows that stayed a loop marked untranscribed. Yields (segment, untranscribed) pairs."""
    duration = len(audio) / SAMPLE_RATE
    segments, info = model.whisper.transcribe(
        audio,
        **decode_arguments(model, language, options, duration=duration, vad_filter=vad_filter),
    )
    return _guarded(segments, duration), info


def decode_arguments(
    model: LoadedModel,
    language: str,
    options: TranscribeOptions,
    *,
    duration: float,
    vad_filter: bool,
) -> dict[str, Any]:
    """faster-whisper's `transcribe` arguments for one decode in `language`: the one place they
    are set (benchmarks compare against the same decode)."""
    return {
        "language": language,
        "beam_size": options.beam_size,
        "best_of": FALLBACK_BEST_OF,
        "vad_filter": vad_filter,
        "word_timestamps": options.word_timestamps,
        "initial_prompt": options.initial_prompt or None,
        "condition_on_previous_text": False,
        "temperature": list(options.temperature),
        "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
        "log_prob_threshold": LOG_PROB_THRESHOLD,
        "max_new_tokens": _token_budget(model, duration, options.initial_prompt),
        # -1: Whisper's own set of non-speech symbols.
        "suppress_tokens": [-1, *model.foreign_tokens.get(language, ())],
    }


def _token_budget(model: LoadedModel, duration: float, initial_prompt: str) -> int:
    """New tokens one window may take: what its speech could hold, within what the decoder has
    left beside the prompt (Whisper keeps at most half its positions for the prompt)."""
    prompt_tokens = 4  # start of transcript, language, task, and a timestamp or not
    if initial_prompt:
        encoded = model.whisper.hf_tokenizer.encode(" " + initial_prompt, add_special_tokens=False)
        prompt_tokens += 1 + min(len(encoded.ids), WHISPER_MAX_LENGTH // 2 - 1)
    speech_could_hold = math.ceil(MAX_TOKENS_PER_SECOND * min(duration, 30.0)) + TOKEN_ALLOWANCE
    return max(1, min(speech_could_hold, WHISPER_MAX_LENGTH - prompt_tokens))


def is_untranscribable(text: str, compression_ratio: float) -> bool:
    """Whether a window's final text says nothing: a loop Whisper kept after every fallback
    (it keeps the likeliest attempt even when all repeat themselves: "Ə Ə Ə …"), or no letter
    or digit at all ("– – – –")."""
    if compression_ratio > COMPRESSION_RATIO_THRESHOLD:
        return True
    return not any(char.isalnum() for char in text)


def _guarded(segments: Iterator[Any], duration: float) -> Iterator[tuple[Any, bool]]:
    for segment in segments:
        if segment.start >= duration:
            # Text "heard" in the padding after a short clip's end.
            logger.info("Left out a segment past the end of the audio at %.1f s", segment.start)
            continue
        untranscribed = is_untranscribable(segment.text, segment.compression_ratio)
        if untranscribed:
            logger.info(
                "Speech not transcribed at %.1f–%.1f s (compression ratio %.1f): %.40r",
                segment.start,
                segment.end,
                segment.compression_ratio,
                segment.text,
            )
        yield segment, untranscribed


@dataclass(frozen=True)
class SpeechPart:
    start: int  # samples
    end: int
    language: str
    probability: float


def speech_parts(
    model: LoadedModel, audio: np.ndarray, language_cache: LanguageCache | None = None
) -> list[SpeechPart]:
    """Stretches of speech (split at pauses), each with the likelier of Uzbek and Russian;
    neighbours in the same language are joined so each decode keeps its context."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(
        audio,
        VadOptions(
            min_silence_duration_ms=MIXED_PAUSE_MS,
            max_speech_duration_s=28,
            speech_pad_ms=MIXED_PAD_MS,
        ),
    )
    parts: list[SpeechPart] = []
    for chunk in chunks:
        stretch = audio[chunk["start"] : chunk["end"]]
        key = hashlib.blake2b(stretch.tobytes(), digest_size=16).digest()
        cached = language_cache.get(key) if language_cache is not None else None
        if cached is None:
            cached = detect_language(model, stretch, vad_filter=False)
            if language_cache is not None:
                language_cache[key] = cached
        language, probability = cached
        previous = parts[-1] if parts else None
        joined_seconds = (chunk["end"] - previous.start) / SAMPLE_RATE if previous else 0.0
        if previous and previous.language == language and joined_seconds <= 28:
            parts[-1] = SpeechPart(
                previous.start, chunk["end"], language, max(previous.probability, probability)
            )
        else:
            parts.append(SpeechPart(chunk["start"], chunk["end"], language, probability))
    return parts


def _transcribe_mixed(
    model: LoadedModel,
    audio: np.ndarray,
    options: TranscribeOptions,
    language_cache: LanguageCache | None = None,
) -> Transcription:
    parts = speech_parts(model, audio, language_cache)
    seconds = {code: 0.0 for code in SUPPORTED_LANGUAGES}
    for part in parts:
        seconds[part.language] += (part.end - part.start) / SAMPLE_RATE
    main = max(seconds, key=lambda code: seconds[code])
    main_probability = max((p.probability for p in parts if p.language == main), default=0.0)

    def decode_parts() -> Iterator[SegmentResult]:
        for part in parts:
            offset = part.start / SAMPLE_RATE
            segments, _ = _decode(
                model,
                audio[part.start : part.end],
                part.language,
                options,
                vad_filter=False,  # already cut at speech
            )
            wrote_text = False
            for segment in segments:
                result = _segment_result(segment, language=part.language, offset=offset)
                wrote_text = wrote_text or bool(result.text)
                yield result
            if not wrote_text:
                # A part with speech that came back empty is marked, not lost.
                yield SegmentResult(
                    part.start / SAMPLE_RATE,
                    part.end / SAMPLE_RATE,
                    "",
                    0.0,
                    0.0,
                    [],
                    part.language,
                    untranscribed=True,
                )

    def speech() -> list[SpeechStretch]:
        # The VAD's speech, in the language of the part it lies in.
        heard = [SpeechStretch(start, end, "") for start, end in speech_chunks(audio)]
        return [
            replace(stretch, language=part.language)
            for part in parts
            for stretch in _within(heard, part.start / SAMPLE_RATE, part.end / SAMPLE_RATE)
        ]

    return Transcription(
        language=main,
        language_probability=main_probability,
        duration=len(audio) / SAMPLE_RATE,
        segments=_merge_untranscribed(
            _accounting_for_speech(
                decode_parts(),
                speech,
                duration=len(audio) / SAMPLE_RATE,
                mark_tail=options.mark_speech_after_last_segment,
            )
        ),
    )


def _merge_untranscribed(results: Iterator[SegmentResult]) -> Iterator[SegmentResult]:
    """Join neighbouring untranscribed stretches of one language into one, spanning them all: a
    part that wrote no text ends with a marker over the whole part, which starts before the
    part's own marked windows (they come first, as decoding goes)."""
    held: SegmentResult | None = None
    for result in results:
        if held is not None:
            if result.untranscribed and result.language == held.language:
                held = replace(
                    held, start=min(held.start, result.start), end=max(held.end, result.end)
                )
                continue
            yield held
            held = None
        if result.untranscribed:
            held = result
        else:
            yield result
    if held is not None:
        yield held


def _segment_result(
    guarded: tuple[Any, bool], *, language: str, offset: float = 0.0
) -> SegmentResult:
    """Our result for a (faster_whisper.transcribe.Segment, untranscribed) pair."""
    segment, untranscribed = guarded
    text = clean_text(segment.text, language=language)
    if untranscribed or not any(char.isalnum() for char in text):
        return SegmentResult(
            start=float(segment.start) + offset,
            end=float(segment.end) + offset,
            text="",
            avg_logprob=float(segment.avg_logprob),
            no_speech_prob=float(segment.no_speech_prob),
            language=language,
            untranscribed=True,
        )
    words = [
        WordResult(
            start=float(w.start) + offset,
            end=float(w.end) + offset,
            text=_clean_word(w.word, language=language),
            probability=float(w.probability),
            language=language,
        )
        for w in (segment.words or [])
        if _clean_word(w.word, language=language).strip()
    ]
    return SegmentResult(
        start=float(segment.start) + offset,
        end=float(segment.end) + offset,
        text=text,
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        words=words,
        language=language,
    )


def _clean_word(word: str, *, language: str) -> str:
    """A word as `clean_text` leaves it, keeping the leading space that separates words."""
    cleaned = clean_text(word, language=language)
    return f" {cleaned}" if cleaned and word[:1].isspace() else cleaned


def transcribe_words(
    model: LoadedModel,
    audio: np.ndarray,
    *,
    language: str | None,
    initial_prompt: str = "",
    vad_filter: bool = True,
    language_cache: LanguageCache | None = None,
    final: bool = False,
) -> tuple[str, float, list[WordResult]]:
    """Decode a short buffer greedily with word timestamps, for live streams. `language=None`
    detects it (between Uzbek and Russian); "mixed" decodes each stretch of speech in its own
    language, which each word then carries. A stretch of speech marked untranscribed comes back
    as one word with no text and `untranscribed` set, so live sessions can commit it too. Speech
    after the last word is marked only in the `final` decode of a stream (see
    TranscribeOptions.mark_speech_after_last_segment)."""
    options = TranscribeOptions(
        language=language or "auto",
        beam_size=1,
        vad_filter=vad_filter,
        word_timestamps=True,
        initial_prompt=initial_prompt,
        temperature=(0.0,),
        mark_speech_after_last_segment=final,
    )
    result = transcribe(model, audio, options, language_cache=language_cache)
    words = []
    for segment in result.segments:
        if segment.untranscribed:
            words.append(
                WordResult(
                    segment.start, segment.end, "", 0.0, segment.language, untranscribed=True
                )
            )
        else:
            words.extend(segment.words)
    return result.language, result.language_probability, words

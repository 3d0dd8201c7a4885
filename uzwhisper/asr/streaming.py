"""Live transcription of one audio stream: a LocalAgreement-2 commit policy over a growing buffer.
Django-free and I/O-free: the stream worker feeds audio and runs `step()`; tests drive it one step
at a time.

Each step decodes the whole uncommitted buffer. Words that two consecutive decodes agree on (the
longest common prefix after the committed text) are committed and never change; the rest is the
unstable tail, shown as `partial`. Once committed text ends a segment, or the buffer grows past
`trim_seconds`, the audio before the last committed word is dropped, so a long session costs the
same per step as a short one (whisper_streaming, Macháček et al., 2023).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from uzwhisper.asr.languages import SAMPLE_RATE


@dataclass(frozen=True)
class TimedWord:
    start: float  # seconds from the start of the stream
    end: float
    text: str
    probability: float = 1.0
    # The language this word was decoded in: set per part in `mixed` streams, else empty (the
    # session's language holds).
    language: str = ""
    # A stretch of speech the model could not write, in place of its words (no text).
    untranscribed: bool = False


@dataclass(frozen=True)
class ChunkResult:
    """What one decode of the buffer produced: words with times relative to the buffer start."""

    language: str
    language_probability: float
    words: list[TimedWord]


class Decoder(Protocol):
    def __call__(
        self, audio: np.ndarray, language: str | None, prompt: str, *, final: bool
    ) -> ChunkResult:
        """Decode `audio` in `language` (None: detect it) after `prompt`. `final`: the stream
        has ended, so speech after the last word is lost unless it is marked untranscribed
        (before that, the words at the buffer's edge are only not decoded yet)."""
        ...


_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Two untranscribed stretches are the same one when they start this close (seconds).
MARKER_START_TOLERANCE = 0.3
# A marked stretch that reaches back into committed audio keeps its part after the commit point
# if that is at least this long (seconds), as the engine marks speech a decode leaves out
# (engine.MIN_UNCOVERED_SPEECH_S); a shorter part is the same stretch seen again, a little longer.
MIN_NEW_MARKED_SECONDS = 1.0


def _new_part_of_marker(word: TimedWord, committed_until: float) -> TimedWord:
    """The part of a marked stretch after the commit point, or the stretch as it is (then it
    lies before the commit point, and is dropped) when that part is too short to be new."""
    if word.end - committed_until >= MIN_NEW_MARKED_SECONDS:
        return replace(word, start=committed_until)
    return replace(word, end=min(word.end, committed_until))


def _key(word: TimedWord) -> str:
    if word.untranscribed:
        # Two decodes agree on a stretch when both could not write it, in the same language.
        return f"<untranscribed:{word.language}>"
    return _NON_WORD.sub("", word.text.lower())


@dataclass
class StreamConfig:
    # auto | uz | ru | mixed. `mixed` decodes each stretch of speech in the buffer in its own
    # language (engine's mixed mode), so an utterance may switch between Uzbek and Russian.
    language: str = "auto"
    initial_prompt: str = ""
    min_step_seconds: float = 0.5  # decode again once this much new audio arrived
    trim_seconds: float = 10.0  # past this, drop audio before the last committed word
    max_buffer_seconds: float = 30.0  # Whisper's window: commit the tail rather than grow past it


@dataclass
class Committed:
    """A committed piece of transcript: a `final` message."""

    start: float
    end: float
    text: str
    language: str
    words: list[TimedWord]
    lag_seconds: float  # worst delay between a word's audio arriving and its commit
    # Speech the model could not write: no text, no words, its times kept.
    untranscribed: bool = False


@dataclass
class StreamSession:
    config: StreamConfig
    decode: Decoder
    clock: Callable[[], float] = time.monotonic

    buffer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    buffer_offset: float = 0.0  # stream time of buffer[0]
    received_seconds: float = 0.0
    decoded_until: float = 0.0  # stream time covered by the last decode
    committed: list[Committed] = field(default_factory=list)
    previous_tail: list[TimedWord] = field(default_factory=list)
    tail: list[TimedWord] = field(default_factory=list)
    language: str = ""
    language_probability: float = 0.0
    steps: int = 0
    decode_seconds: float = 0.0
    _arrivals: list[tuple[float, float]] = field(default_factory=list)  # (stream time, clock)

    # --- input --------------------------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        """Append mono float32 audio at 16 kHz."""
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        self.received_seconds += len(samples) / SAMPLE_RATE
        self._arrivals.append((self.received_seconds, self.clock()))

    @property
    def committed_until(self) -> float:
        return self.committed[-1].end if self.committed else 0.0

    @property
    def behind_seconds(self) -> float:
        """Audio received but not yet decoded: how far inference trails the speaker."""
        return max(0.0, self.received_seconds - self.decoded_until)

    def ready_for_step(self) -> bool:
        return self.received_seconds - self.decoded_until >= self.config.min_step_seconds

    # --- decoding -----------------------------------------------------------------------------

    def step(self, *, final: bool = False) -> list[Committed]:
        """Decode the buffer once and return what became committed. With `final`, everything
        decoded is committed (the stream has ended)."""
        if len(self.buffer) == 0:
            return []
        if self.config.language == "mixed":
            language: str | None = "mixed"
        elif self.config.language == "auto" and not self.language:
            language = None
        else:
            language = self.language or self.config.language
        prompt = self._prompt()
        started = time.perf_counter()
        result = self.decode(self.buffer, language, prompt, final=final)
        self.decode_seconds += time.perf_counter() - started
        self.steps += 1
        self.decoded_until = self.buffer_offset + len(self.buffer) / SAMPLE_RATE
        if not self.language or self.config.language == "mixed":
            self.language = result.language
            self.language_probability = result.language_probability

        words = [
            replace(w, start=w.start + self.buffer_offset, end=w.end + self.buffer_offset)
            for w in result.words
        ]
        words = self._drop_already_committed(words)

        if final:
            agreed, self.previous_tail = words, []
        else:
            agreed = self._agreed_prefix(self.previous_tail, words)
            self.previous_tail = words[len(agreed) :]
            buffer_seconds = len(self.buffer) / SAMPLE_RATE
            if not agreed and buffer_seconds >= self.config.max_buffer_seconds and words:
                # Two decodes keep disagreeing and the window is full: commit what we have
                # rather than let the buffer outgrow what Whisper can see.
                agreed, self.previous_tail = words, []
        self.tail = list(self.previous_tail)

        new = self._commit(agreed) if agreed else []
        self._trim(final=final)
        return new

    def _drop_already_committed(self, words: list[TimedWord]) -> list[TimedWord]:
        """Decodes of a buffer that still holds committed audio repeat committed words, with
        timestamps that jitter by a few tens of milliseconds. Drop what lies before the commit
        point by time, then any leading words that repeat the last committed ones by text."""
        until = self.committed_until
        words = [
            _new_part_of_marker(w, until) if w.untranscribed and w.start < until else w
            for w in words
        ]
        words = [w for w in words if (w.start + w.end) / 2 > until]
        recent = [_key(w) for c in self.committed[-2:] for w in c.words][-5:]
        for size in range(min(5, len(recent), len(words)), 0, -1):
            if recent[-size:] == [_key(w) for w in words[:size]]:
                return words[size:]
        return words

    def _prompt(self) -> str:
        # Only text whose audio has left the buffer: given words that are still in the audio,
        # Whisper continues after them and drops them from its output.
        gone = "".join(
            w.text for c in self.committed for w in c.words if w.end <= self.buffer_offset
        )
        prompt = f"{self.config.initial_prompt} {gone.strip()}".strip()
        return prompt[-400:]  # Whisper's prompt holds about 224 tokens

    @staticmethod
    def _agreed_prefix(previous: list[TimedWord], current: list[TimedWord]) -> list[TimedWord]:
        agreed: list[TimedWord] = []
        for before, now in zip(previous, current, strict=False):
            if _key(before) != _key(now) or not _key(now):
                break
            if now.untranscribed and abs(now.start - before.start) > MARKER_START_TOLERANCE:
                break  # a different stretch: the part was cut elsewhere this time
            agreed.append(now)
        return agreed

    def _commit(self, words: list[TimedWord]) -> list[Committed]:
        """One committed piece per run of words decoded in one language; a stretch marked
        untranscribed is a piece of its own."""
        now = self.clock()
        runs: list[list[TimedWord]] = []
        for word in words:
            previous = runs[-1][-1] if runs else None
            if (
                previous is not None
                and not word.untranscribed
                and not previous.untranscribed
                and (word.language or self.language) == (previous.language or self.language)
            ):
                runs[-1].append(word)
            else:
                runs.append([word])
        pieces = []
        for run in runs:
            lag = max(now - self._arrival_of(w.end) for w in run)
            pieces.append(
                Committed(
                    start=run[0].start,
                    end=run[-1].end,
                    text="".join(w.text for w in run).strip(),
                    language=run[0].language or self.language,
                    words=[] if run[0].untranscribed else run,
                    lag_seconds=round(max(0.0, lag), 3),
                    untranscribed=run[0].untranscribed,
                )
            )
        self.committed.extend(pieces)
        return pieces

    def _arrival_of(self, stream_time: float) -> float:
        for position, arrived in self._arrivals:
            if position >= stream_time:
                return arrived
        return self._arrivals[-1][1] if self._arrivals else self.clock()

    def _trim(self, *, final: bool) -> None:
        buffer_seconds = len(self.buffer) / SAMPLE_RATE
        if final:
            cut = buffer_seconds
        elif buffer_seconds > self.config.trim_seconds and self.committed:
            cut = max(0.0, self.committed_until - self.buffer_offset)
        else:
            return
        cut_samples = int(cut * SAMPLE_RATE)
        if cut_samples <= 0:
            return
        self.buffer = self.buffer[cut_samples:]
        self.buffer_offset += cut_samples / SAMPLE_RATE
        # Arrival times before the new buffer start are no longer needed for lag figures.
        self._arrivals = [a for a in self._arrivals if a[0] >= self.buffer_offset - 1.0]
        if self.config.language == "auto":
            self.language = ""  # the next utterance may be in the other language

    def finish(self) -> list[Committed]:
        """Commit everything still in the buffer."""
        return self.step(final=True)

    def tail_text(self) -> str:
        return "".join(w.text for w in self.tail).strip()

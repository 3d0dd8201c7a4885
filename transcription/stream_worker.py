"""The stream worker: holds the Whisper model and runs live sessions fed through the channel layer.

    manage.py run_stream_worker --slots 2

Protocol between processes (all channel-layer messages):
- consumer → `stream.requests` (a shared channel; any worker with a free slot takes it):
  `stream.request` {session, owner_id, reply_channel, config, expires_at}
- worker → consumer: `stream.ready` {session, worker_channel}, `stream.event` {payload},
  `stream.heartbeat` every STREAM_HEARTBEAT_SECONDS
- consumer → worker channel: `stream.audio` {session, pcm}, `stream.stop` {session},
  `stream.abort` {session} (the client went away: finish and save without talking back)

A worker takes a request only while it has a free slot, so admission control needs no registry:
when every slot is busy, requests wait unanswered and the consumer tells its client `busy`.
Inference runs in one thread, one decode at a time, so every session gets all the cores in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import statistics
import tempfile
import time
import wave
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from uzwhisper.asr import engine
from uzwhisper.asr.languages import SAMPLE_RATE
from uzwhisper.asr.streaming import (
    ChunkResult,
    Committed,
    Decoder,
    StreamConfig,
    StreamSession,
    TimedWord,
)
from uzwhisper.db import orm_in_thread

from . import live_protocol as protocol
from .payloads import final_payload
from .services.transcripts import LanguageTags, language_tags
from .serving import serving_model

if TYPE_CHECKING:
    from .models import Job

logger = logging.getLogger(__name__)


def event(payload: dict) -> dict:
    return {"type": "stream.event", "payload": payload}


def committed_payload(piece: Committed, tags: LanguageTags) -> dict:
    return final_payload(
        start=piece.start,
        end=piece.end,
        text=piece.text,
        language=piece.language,
        lag_s=piece.lag_seconds,
        untranscribed=piece.untranscribed,
        words=piece.words,
        tags=tags.tags,
    )


@dataclass
class LiveSession:
    id: str
    owner_id: int
    reply_channel: str
    config: StreamConfig
    stream: StreamSession
    wav_path: Path
    wav: wave.Wave_write
    started_at: datetime
    vad_filter: bool = True
    # The model the session started with: a promotion mid-stream reaches the next session.
    model: engine.LoadedModel | None = None
    last_audio: float = field(default_factory=time.monotonic)
    stepping: asyncio.Task | None = None
    finishing: bool = False
    lags: list[float] = field(default_factory=list)
    # Language tags of committed pieces, by position in `stream.committed`: computed once for
    # the `final` message and kept for saving the session.
    tags: dict[int, LanguageTags] = field(default_factory=dict)

    def tags_of(self, index: int) -> LanguageTags:
        if index not in self.tags:
            piece = self.stream.committed[index]
            self.tags[index] = language_tags(
                [w.text for w in piece.words], text=piece.text, language=piece.language
            )
        return self.tags[index]

    def write(self, pcm: bytes) -> None:
        self.wav.writeframes(pcm)


class StreamWorker:
    def __init__(self, layer: Any, *, slots: int) -> None:
        self.layer = layer
        self.slots = slots
        self.sessions: dict[str, LiveSession] = {}
        self.channel = ""
        self.model: engine.LoadedModel | None = None
        # One inference thread: CTranslate2 already uses every core for one decode.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-decode")
        self.slot_free = asyncio.Event()
        self.slot_free.set()
        self.stopping = asyncio.Event()
        self.loaded = asyncio.Event()
        self._background: set[asyncio.Task] = set()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task:
        # Keep a reference: the loop holds tasks only weakly.
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.channel = await self.layer.new_channel("stream-worker.")
        # Requests are taken while the model loads: their clients wait for it (`stream.loading`
        # extends their admission deadline) instead of hearing `busy` from an idle worker.
        loading = loop.run_in_executor(self.executor, _serving_model_in_thread)
        intake = [
            asyncio.create_task(self._take_requests()),
            asyncio.create_task(self._read_inbox()),
        ]
        heartbeat = asyncio.create_task(self._heartbeat())
        watching = None
        try:
            self.model = await loading
        except Exception:
            logger.exception("The stream worker could not load its model")
            self.stopping.set()
        else:
            self.loaded.set()
            logger.info("Stream worker ready on %s with %d slots", self.channel, self.slots)
            watching = asyncio.create_task(self._follow_registry())
        await self.stopping.wait()
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        logger.info("Stopping: taking no new sessions, finishing %d", len(self.sessions))
        for task in intake:
            task.cancel()
        await asyncio.gather(*intake, return_exceptions=True)
        # Heartbeats go on while the sessions finish: a decode in progress and the final one
        # can take seconds on a busy machine, and a consumer that hears nothing for
        # STREAM_HEARTBEAT_TIMEOUT_SECONDS would close its client with `worker_lost`.
        try:
            await self._shutdown_sessions()
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            self.executor.shutdown(wait=True)
        logger.info("Stream worker stopped")

    def request_stop(self) -> None:
        self.stopping.set()

    async def _shutdown_sessions(self) -> None:
        """Tell every client the worker is going away, and keep what each session committed."""
        sessions = list(self.sessions.values())
        for session in sessions:
            await self._send(
                session,
                {
                    "type": "error",
                    "code": "worker_restarting",
                    "message": "The stream worker is restarting. What was committed is saved; "
                    "reconnect to continue.",
                },
            )
        # Every client hears first; then each session is finished and saved in turn.
        await asyncio.gather(
            *(self._finish(session, notify=True) for session in sessions), return_exceptions=True
        )

    # --- loops --------------------------------------------------------------------------------

    async def _take_requests(self) -> None:
        while True:
            await self.slot_free.wait()
            message = await self._receive(protocol.REQUESTS_CHANNEL)
            if message.get("expires_at", 0) < time.time():
                logger.info("Dropped an expired request for session %s", message.get("session"))
                continue  # its client already heard `busy`
            if not self.loaded.is_set():
                await self.layer.send(
                    message["reply_channel"],
                    {"type": "stream.loading", "session": message["session"]},
                )
                await self.loaded.wait()
            logger.info("Opening session %s", message["session"])
            await self._open(message)
            if len(self.sessions) >= self.slots:
                self.slot_free.clear()

    async def _read_inbox(self) -> None:
        while True:
            message = await self._receive(self.channel)
            session = self.sessions.get(message.get("session", ""))
            if session is None or session.finishing:
                continue
            kind = message["type"]
            if kind == "stream.audio":
                await self._audio(session, message["pcm"])
            elif kind == "stream.stop":
                self._spawn(self._finish(session, notify=True))
            elif kind == "stream.abort":
                self._spawn(self._finish(session, notify=False))

    async def _follow_registry(self) -> None:
        """Pick up a promoted model version without a restart: ask the registry every
        STREAM_MODEL_CHECK_SECONDS, on the decode thread, so a load never runs beside a decode.
        Sessions open keep the model they started with; the next ones get the new one."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.STREAM_MODEL_CHECK_SECONDS)
            try:
                model = await loop.run_in_executor(self.executor, _serving_model_in_thread)
            except Exception:
                logger.exception("Checking the model registry failed; keeping %s", self.model)
                continue
            if self.model is None or model.model_id != self.model.model_id:
                logger.info("Stream worker now serving %s", model.model_id)
            self.model = model

    async def _receive(self, channel: str) -> dict:
        """A receive that outlives a broken connection to the layer: a loop that died here would
        leave the worker alive but deaf."""
        while True:
            try:
                return await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Receiving on %s failed; retrying", channel, exc_info=True)
                await asyncio.sleep(0.5)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.STREAM_HEARTBEAT_SECONDS)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                with contextlib.suppress(Exception):
                    await self.layer.send(session.reply_channel, {"type": "stream.heartbeat"})
                # A client that vanished without a word (its consumer died too) frees its slot.
                if now - session.last_audio > settings.STREAM_IDLE_SECONDS * 2:
                    self._spawn(self._finish(session, notify=False))

    # --- sessions -----------------------------------------------------------------------------

    async def _open(self, message: dict) -> None:
        # Requests are taken only once the model has loaded (`_take_requests` waits for it).
        model = self.model
        assert model is not None, "a session opened before the model loaded"
        vad_filter = bool(message["config"].get("vad", True))
        config = StreamConfig(
            language=message["config"].get("language", "auto"),
            initial_prompt=message["config"].get("initial_prompt", ""),
        )
        handle = tempfile.NamedTemporaryFile(prefix="live-", suffix=".wav", delete=False)  # noqa: SIM115
        wav = wave.open(handle, "wb")  # noqa: SIM115
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        session = LiveSession(
            id=message["session"],
            owner_id=message["owner_id"],
            reply_channel=message["reply_channel"],
            config=config,
            stream=StreamSession(config=config, decode=self._decoder(model, vad_filter=vad_filter)),
            wav_path=Path(handle.name),
            wav=wav,
            started_at=timezone.now(),
            vad_filter=vad_filter,
            model=model,
        )
        self.sessions[session.id] = session
        await self.layer.send(
            session.reply_channel,
            {
                "type": "stream.ready",
                "session": session.id,
                "worker_channel": self.channel,
                "model": model.model_id,
            },
        )

    def _decoder(self, model: engine.LoadedModel, *, vad_filter: bool) -> Decoder:
        # Per session: a mixed stream's finished stretches keep their language decision.
        language_cache: engine.LanguageCache = {}

        def decode(
            audio: np.ndarray, language: str | None, prompt: str, *, final: bool
        ) -> ChunkResult:
            if len(language_cache) > 256:
                language_cache.clear()
            language, probability, words = engine.transcribe_words(
                model,
                audio,
                language=language,
                initial_prompt=prompt,
                vad_filter=vad_filter,
                language_cache=language_cache,
                final=final,
            )
            return ChunkResult(
                language,
                probability,
                [
                    TimedWord(w.start, w.end, w.text, w.probability, w.language, w.untranscribed)
                    for w in words
                ],
            )

        return decode

    async def _audio(self, session: LiveSession, pcm: bytes) -> None:
        session.last_audio = time.monotonic()
        session.write(pcm)
        session.stream.feed(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0)
        if session.stream.received_seconds > settings.STREAM_MAX_SECONDS:
            await self._send(
                session,
                {
                    "type": "error",
                    "code": "stream_too_long",
                    "message": f"Live sessions end after {settings.STREAM_MAX_SECONDS:.0f} s.",
                },
            )
            self._spawn(self._finish(session, notify=True))
            return
        if session.stepping is None or session.stepping.done():
            session.stepping = asyncio.create_task(self._step_while_ready(session))

    async def _step_while_ready(self, session: LiveSession) -> None:
        loop = asyncio.get_running_loop()
        while session.stream.ready_for_step() and not session.finishing:
            try:
                committed = await loop.run_in_executor(self.executor, session.stream.step)
            except Exception:
                logger.exception("Decoding failed in live session %s", session.id)
                await self._send(
                    session,
                    {
                        "type": "error",
                        "code": "decode_failed",
                        "message": "Decoding this audio failed.",
                    },
                )
                return
            await self._publish(session, committed)

    async def _publish(self, session: LiveSession, committed: list[Committed]) -> None:
        # `committed` are the newest pieces, last in the stream's list.
        first = len(session.stream.committed) - len(committed)
        for index, piece in enumerate(committed, start=first):
            session.lags.append(piece.lag_seconds)
            await self._send(session, committed_payload(piece, session.tags_of(index)))
        await self._send(
            session,
            {
                "type": "partial",
                "text": session.stream.tail_text(),
                "language": session.stream.language,
                "committed_until": round(session.stream.committed_until, 3),
                "received_s": round(session.stream.received_seconds, 3),
                "behind_s": round(session.stream.behind_seconds, 3),
            },
        )

    async def _finish(self, session: LiveSession, *, notify: bool) -> None:
        if session.finishing:
            return
        session.finishing = True
        loop = asyncio.get_running_loop()
        try:
            if session.stepping and not session.stepping.done():
                with contextlib.suppress(Exception):
                    await session.stepping
            committed = await loop.run_in_executor(self.executor, session.stream.finish)
            if notify:
                await self._publish(session, committed)
            else:
                session.lags.extend(p.lag_seconds for p in committed)
            session.wav.close()
            job = await self._save(session)
            if notify:
                stream = session.stream
                await self._send(
                    session,
                    {
                        "type": "done",
                        "job": str(job.id) if job else None,
                        "duration_s": round(stream.received_seconds, 3),
                        "text": " ".join(c.text for c in stream.committed if c.text),
                        "segments": len(stream.committed),
                        "decode_s": round(stream.decode_seconds, 3),
                        "real_time_factor": round(
                            stream.decode_seconds / max(stream.received_seconds, 1e-6), 4
                        ),
                        "lag_median_s": round(statistics.median(session.lags), 3)
                        if session.lags
                        else None,
                        "lag_p95_s": round(_percentile(session.lags, 95), 3)
                        if session.lags
                        else None,
                    },
                )
        except Exception:
            logger.exception("Finishing live session %s failed", session.id)
            if notify:
                await self._send(
                    session,
                    {
                        "type": "error",
                        "code": "internal_error",
                        "message": "The session could not be saved.",
                    },
                )
        finally:
            self.sessions.pop(session.id, None)
            session.wav_path.unlink(missing_ok=True)
            self.slot_free.set()

    @orm_in_thread
    def _save(self, session: LiveSession) -> Job | None:
        from .services.live import StreamSegment, stream_job_save

        stream = session.stream
        return stream_job_save(
            owner_id=session.owner_id,
            wav_path=session.wav_path,
            language_requested=session.config.language,
            language=next((c.language for c in stream.committed if c.language), stream.language),
            language_probability=stream.language_probability,
            initial_prompt=session.config.initial_prompt,
            vad_filter=session.vad_filter,
            segments=[
                StreamSegment(
                    c.start,
                    c.end,
                    c.text,
                    c.words,
                    c.language,
                    c.untranscribed,
                    tags=session.tags_of(index),
                )
                for index, c in enumerate(stream.committed)
            ],
            model_id=session.model.model_id if session.model else "",
            processing_s=stream.decode_seconds,
            started_at=session.started_at,
        )

    async def _send(self, session: LiveSession, payload: dict) -> None:
        try:
            await self.layer.send(session.reply_channel, event(payload))
        except Exception:
            logger.warning("Could not reach the client of session %s", session.id)


def _serving_model_in_thread() -> engine.LoadedModel:
    """`serving_model()` from the decode thread, which then gives its database connection back
    (the thread lives as long as the worker)."""
    from django.db import connection

    try:
        return serving_model()
    finally:
        connection.close()


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1))))
    return ordered[rank]


async def serve(*, slots: int) -> None:
    """Run a stream worker until SIGTERM or SIGINT."""
    from channels.layers import get_channel_layer

    worker = StreamWorker(get_channel_layer(), slots=slots)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    await worker.run()


_in_process: StreamWorker | None = None
_in_process_task: asyncio.Task | None = None


def ensure_in_process_worker() -> None:
    """Embedded default (no Redis): run the stream worker inside the web process, on its event
    loop, so live transcription works on a laptop. Production runs `run_stream_worker` instead.
    Called at start-up (ASGI lifespan), so the model is loading before the first stream, and
    again by the ASGI application before each socket, for servers that skip the lifespan."""
    global _in_process, _in_process_task
    if _in_process is None:
        from channels.layers import get_channel_layer

        _in_process = StreamWorker(get_channel_layer(), slots=settings.STREAM_SLOTS)
        _in_process_task = asyncio.get_running_loop().create_task(_in_process.run())


async def stop_in_process_worker(*, within: float) -> None:
    """Finish and save the in-process worker's sessions at shutdown, within `within` seconds."""
    if _in_process is None or _in_process_task is None:
        return
    _in_process.request_stop()
    try:
        await asyncio.wait_for(asyncio.shield(_in_process_task), within)
    except (TimeoutError, Exception):
        logger.warning("The in-process stream worker did not stop within %.0f s", within)

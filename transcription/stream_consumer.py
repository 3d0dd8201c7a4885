"""WebSocket `/ws/stream/`: live transcription. A thin relay: it authenticates, checks the
protocol and limits, and passes audio to a stream worker through the channel layer; the worker
holds the model. The protocol is in the README ("Live streaming") and the API docs
(uzwhisper/api_description.md).

Close codes: 4401 not authenticated, 1013 busy (try again later), 1011 stream worker lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import live_protocol as protocol


class StreamConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.state = "new"  # new → starting → streaming → stopping → closed
        self.session = ""
        self.worker_channel = ""
        self.ack = False
        self.frames = 0  # audio frames accepted: the `seq` of acks
        self.pending: list[bytes] = []
        self.last_activity = time.monotonic()
        self.last_heartbeat = time.monotonic()
        self.watchdog: asyncio.Task | None = None
        self.deadline: asyncio.Task | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=protocol.CLOSE_NOT_AUTHENTICATED)
            return
        # In the embedded mode the ASGI application runs the stream worker (uzwhisper/asgi.py):
        # this consumer only talks to it through the channel layer.
        await self.accept()
        self.watchdog = asyncio.create_task(self._watch())

    async def disconnect(self, code: int) -> None:
        for task in (self.watchdog, self.deadline):
            if task:
                task.cancel()
        if self.state in ("streaming", "stopping") and self.worker_channel:
            # The client left: the worker finishes and saves what it has.
            with contextlib.suppress(Exception):
                await self.channel_layer.send(
                    self.worker_channel, {"type": "stream.abort", "session": self.session}
                )
        self.state = "closed"

    # --- from the client -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.last_activity = time.monotonic()
        if bytes_data is not None:
            await self._audio(bytes_data)
            return
        try:
            message = json.loads(text_data or "")
        except json.JSONDecodeError:
            if self.state == "streaming":
                await self._error("expected_audio", "Send audio as binary frames of PCM16.")
            else:
                await self._error("malformed_json", "Control messages are JSON objects.")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "start":
            await self._start(message)
        elif kind == "stop":
            await self._stop()
        elif self.state == "streaming":
            await self._error("expected_audio", "Send audio as binary frames of PCM16.")
        else:
            await self._error("unknown_message", f"Unknown message type {kind!r}.")

    async def _start(self, message: dict) -> None:
        if self.state != "new":
            await self._error("already_started", "This connection has already started.")
            return
        try:
            start = protocol.parse_start(message)
        except protocol.ProtocolError as problem:
            await self._send_json(problem.payload())
            return
        self.ack = start.ack
        self.session = protocol.new_session_id()
        self.state = "starting"
        await self.channel_layer.send(
            protocol.REQUESTS_CHANNEL,
            {
                "type": "stream.request",
                "session": self.session,
                "owner_id": self.scope["user"].pk,
                "reply_channel": self.channel_name,
                "config": start.worker_config(),
                "expires_at": time.time() + settings.STREAM_ADMISSION_WAIT_SECONDS,
            },
        )
        self.deadline = asyncio.create_task(
            self._admission_deadline(settings.STREAM_ADMISSION_WAIT_SECONDS)
        )

    async def _admission_deadline(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.state == "starting":
            self.state = "closed"
            await self._error(
                "busy",
                "Every live transcription slot is in use. Try again shortly.",
                retry_after_s=10,
            )
            await self.close(code=protocol.CLOSE_BUSY)

    async def _audio(self, frame: bytes) -> None:
        if self.state == "new":
            await self._error("not_started", "Send a start message before audio.")
            return
        if self.state not in ("starting", "streaming"):
            return
        try:
            protocol.check_frame(frame, max_bytes=settings.STREAM_MAX_FRAME_BYTES)
        except protocol.ProtocolError as problem:
            await self._send_json(problem.payload())
            return
        if self.state == "starting":
            if len(self.pending) >= protocol.FRAMES_BEFORE_READY:
                await self._error("not_ready", "Wait for ready before sending more audio.")
                return
            self.pending.append(frame)
        else:
            await self._forward(frame)
        # `seq` counts the frames accepted (buffered or forwarded), from 1; a refused frame
        # gets an error instead and no number.
        self.frames += 1
        if self.ack:
            await self._send_json(protocol.ack(self.frames))

    async def _forward(self, frame: bytes) -> None:
        await self.channel_layer.send(
            self.worker_channel, {"type": "stream.audio", "session": self.session, "pcm": frame}
        )

    async def _stop(self) -> None:
        if self.state not in ("starting", "streaming"):
            await self._error("not_started", "Nothing to stop: send start first.")
            return
        if self.state == "starting":
            self.state = "stopping_early"  # sent once the worker is ready
            return
        self.state = "stopping"
        await self.channel_layer.send(
            self.worker_channel, {"type": "stream.stop", "session": self.session}
        )

    # --- from the worker -----------------------------------------------------------------------

    async def stream_ready(self, message: dict) -> None:
        if message["session"] != self.session or self.state not in ("starting", "stopping_early"):
            return
        stop_early = self.state == "stopping_early"
        self.worker_channel = message["worker_channel"]
        self.state = "streaming"
        self.last_heartbeat = time.monotonic()
        await self._send_json(protocol.ready(session=self.session, model=message.get("model", "")))
        for frame in self.pending:
            await self._forward(frame)
        self.pending = []
        if stop_early:
            await self._stop()

    async def stream_loading(self, message: dict) -> None:
        """A worker took the request but is still loading its model (the first stream after
        start-up): wait for it rather than call an idle worker busy."""
        if message["session"] != self.session or self.state not in ("starting", "stopping_early"):
            return
        if self.deadline:
            self.deadline.cancel()
        self.deadline = asyncio.create_task(
            self._admission_deadline(settings.STREAM_MODEL_LOAD_SECONDS)
        )

    async def stream_event(self, message: dict) -> None:
        payload = message["payload"]
        await self._send_json(payload)
        if payload["type"] == protocol.DONE:
            self.state = "closed"
            await self.close(code=protocol.CLOSE_NORMAL)
        elif payload["type"] == protocol.ERROR and payload["code"] == "worker_restarting":
            self.state = "stopping"

    async def stream_heartbeat(self, message: dict) -> None:
        self.last_heartbeat = time.monotonic()

    # --- timers ---------------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            worker_silent = now - self.last_heartbeat > settings.STREAM_HEARTBEAT_TIMEOUT_SECONDS
            if self.state in ("streaming", "stopping") and worker_silent:
                self.state = "closed"
                await self._error(
                    "worker_lost",
                    "The stream worker stopped answering (restarted?). Reconnect to go on.",
                )
                await self.close(code=protocol.CLOSE_WORKER_LOST)
                return
            if (
                self.state == "streaming"
                and now - self.last_activity > settings.STREAM_IDLE_SECONDS
            ):
                await self._error(
                    "idle_timeout",
                    f"No audio for {settings.STREAM_IDLE_SECONDS:.0f} s: finishing the session.",
                )
                await self._stop()
            if self.state == "new" and now - self.last_activity > settings.STREAM_IDLE_SECONDS:
                await self._error("idle_timeout", "No start message: closing.")
                await self.close(code=protocol.CLOSE_NORMAL)
                return

    async def _error(self, code: str, message: str, **extra: Any) -> None:
        await self._send_json(protocol.error(code, message, **extra))

    async def _send_json(self, payload: dict) -> None:
        # The client may already be gone; nothing to tell it then.
        with contextlib.suppress(Exception):
            await self.send(text_data=json.dumps(payload, ensure_ascii=False))

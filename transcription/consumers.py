"""WebSocket: live progress of one job at /ws/jobs/<id>/.

On connect the client gets a snapshot (status and the segments so far), then `job.segment` and
`job.status` events as the worker commits them. Close codes: 4401 not authenticated, 4404 no such
job of yours.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User

from uzwhisper.errors import ApplicationError

from .models import Job
from .payloads import segment_payload
from .selectors import (
    job_get_for_user,
    job_group,
    job_segments,
    job_status_payload,
)

WATCH_INTERVAL_SECONDS = 0.25


@database_sync_to_async
def _snapshot(user: User, job_id: str, after_index: int) -> tuple[dict, list[dict]]:
    job = job_get_for_user(user=user, job_id=job_id)
    segments = [segment_payload(s) for s in job_segments(job=job).filter(index__gt=after_index)]
    return job_status_payload(job=job), segments


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        self.job_id = str(self.scope["url_route"]["kwargs"]["job_id"])
        self.group = job_group(self.job_id)
        self.last_index = -1
        self.last_status: dict | None = None
        self.watcher: asyncio.Task | None = None
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        try:
            status, segments = await _snapshot(user, self.job_id, self.last_index)
        except ApplicationError:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=4404)
            return
        await self.accept()
        await self._send_segments_and_status(status, segments, snapshot=True)
        if not settings.CHANNEL_LAYER_CROSSES_PROCESSES:
            # Without a shared channel layer worker events cannot reach this process: watch the
            # database instead. The browser still gets pushes, not a polling loop of its own.
            self.watcher = asyncio.create_task(self._watch_database(user))

    async def disconnect(self, code: int) -> None:
        if self.watcher:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def relay(self, message: dict) -> None:
        payload = message["payload"]
        if message["event"] == "job.segment":
            if payload["index"] <= self.last_index:
                return
            self.last_index = payload["index"]
        elif message["event"] == "job.status":
            self.last_status = payload
        await self.send_json({"type": message["event"], **payload})

    async def _send_segments_and_status(
        self, status: dict, segments: list[dict], *, snapshot: bool = False
    ) -> None:
        if snapshot:
            await self.send_json({"type": "job.snapshot", **status, "segments": segments})
        else:
            for segment in segments:
                await self.send_json({"type": "job.segment", **segment})
            if status != self.last_status:
                await self.send_json({"type": "job.status", **status})
        if segments:
            self.last_index = segments[-1]["index"]
        self.last_status = status

    async def _watch_database(self, user: User) -> None:
        while self.last_status and self.last_status["status"] not in Job.FINISHED_STATUSES:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            try:
                status, segments = await _snapshot(user, self.job_id, self.last_index)
            except ApplicationError:  # deleted meanwhile
                await self.close(code=4404)
                return
            await self._send_segments_and_status(status, segments)

"""WebSocket: a fine-tune run's live state at /ws/training/runs/<id>/ (staff only).

On connect the page gets a snapshot (`finetune.snapshot`: status, every chart point so far, the
log's tail), then `finetune.status` events with new points as the training worker records them.
Close codes: 4401 not signed in, 4404 no such run (or not staff).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from uzwhisper.errors import ApplicationError

from .finetune.selectors import finetune_run_get_for_user, finetune_run_payload, run_group


@database_sync_to_async
def _snapshot(user: AbstractBaseUser | AnonymousUser, run_id: str) -> dict[str, Any]:
    return finetune_run_payload(finetune_run_get_for_user(user=user, run_id=run_id))


class FineTuneRunConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        self.run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        self.group = run_group(self.run_id)
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        try:
            snapshot = await _snapshot(user, self.run_id)
        except ApplicationError:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json({"type": "finetune.snapshot", **snapshot})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, message: dict) -> None:
        await self.send_json({"type": message["event"], **message["payload"]})

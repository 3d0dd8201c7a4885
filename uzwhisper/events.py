"""Events from services (web or worker) to WebSocket consumers, through the channel layer."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


def broadcast_many(group: str, events: list[Event]) -> None:
    """Send each `(type, payload)` to every consumer in `group`, in order, in one trip to the
    layer. A layer outage is logged, never raised: the database stays the source of truth and
    pages reload it on reconnect."""
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def send_all() -> None:
        for type_, payload in events:
            await layer.group_send(group, {"type": "relay", "event": type_, "payload": payload})

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("Could not broadcast %d events to %s", len(events), group, exc_info=True)


def broadcast(group: str, type_: str, payload: dict[str, Any]) -> None:
    broadcast_many(group, [(type_, payload)])


def broadcast_on_commit(group: str, type_: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: broadcast(group, type_, payload))


def broadcast_many_on_commit(group: str, events: list[Event]) -> None:
    transaction.on_commit(lambda: broadcast_many(group, events))

"""Events from services (web or worker) to WebSocket consumers, through the channel layer."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def broadcast(group: str, type_: str, payload: dict[str, Any]) -> None:
    """Send `payload` to every consumer in `group`. A layer outage is logged, never raised:
    the database stays the source of truth and pages reload it on reconnect."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group, {"type": "relay", "event": type_, "payload": payload}
        )
    except Exception:
        logger.warning("Could not broadcast %s to %s", type_, group, exc_info=True)


def broadcast_on_commit(group: str, type_: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: broadcast(group, type_, payload))

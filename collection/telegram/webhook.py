"""POST /telegram/webhook/: Telegram delivers updates here in production (setWebhook with a
secret_token). The request is answered as soon as the update is queued; a lazily built
Application, running on the server's event loop, handles it."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from telegram import Update
from telegram.ext import Application

from .application import build_application

logger = logging.getLogger(__name__)

WEBHOOK_HEADER = "X-Telegram-Bot-Api-Secret-Token"

_application: Application[Any, Any, Any, Any, Any, Any] | None = None
_application_loop: asyncio.AbstractEventLoop | None = None
_starting: asyncio.Lock | None = None


async def webhook_application() -> Application[Any, Any, Any, Any, Any, Any]:
    """The webhook's Application, built, initialised and started on first use in this event
    loop (a test's new loop gets a new one)."""
    global _application, _application_loop, _starting
    loop = asyncio.get_running_loop()
    if _application_loop is not loop:
        _application, _application_loop, _starting = None, loop, asyncio.Lock()
    assert _starting is not None
    async with _starting:
        if _application is None:
            application = build_application(webhook=True)
            await application.initialize()
            await application.start()
            _application = application
    return _application


async def stop_webhook_application() -> None:
    """Stop the webhook's Application (the server's shutdown; tests), writing its state."""
    global _application
    if _application is not None and _application_loop is asyncio.get_running_loop():
        application, _application = _application, None
        await application.stop()
        await application.shutdown()


def _secret_matches(request: HttpRequest) -> bool:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get(WEBHOOK_HEADER, "")
    # Without a configured secret anyone could post updates as any volunteer: refuse all.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
async def telegram_webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _secret_matches(request):
        return HttpResponseForbidden("wrong or missing secret token")
    try:
        payload = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return HttpResponse("not JSON", status=400)
    application = await webhook_application()
    try:
        update = Update.de_json(payload, application.bot)
    except (KeyError, TypeError, ValueError):
        return HttpResponse("not a Telegram update", status=400)
    await application.update_queue.put(update)
    return HttpResponse(status=200)

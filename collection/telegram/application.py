"""Assemble the bot: token and API address from settings, the database persistence, the
handlers, and an update processor that serialises each volunteer's updates while different
volunteers' updates run concurrently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor

from . import texts
from .handlers import add_handlers, bot_commands, resume_verdicts, stop_verdict_watchers
from .persistence import DatabasePersistence

logger = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then put its "
    "token in the environment (or in .env): TELEGRAM_BOT_TOKEN=123456:ABC…"
)


class PerVolunteerUpdateProcessor(BaseUpdateProcessor):
    """Updates of one person run one after another, in order; different people's run at once
    (up to `max_concurrent_updates`). PTB's own concurrent processor would let a double tap's
    two callback queries, or a voice and the text after it, race through the conversation."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock = self._locks.setdefault(user.id, asyncio.Lock())
        self._waiting[user.id] = self._waiting.get(user.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[user.id] -= 1
            if not self._waiting[user.id]:  # nobody queued behind: forget the lock
                del self._waiting[user.id], self._locks[user.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class VolunteerBot(Application[Any, Any, Any, Any, Any, Any]):
    """The Application, watching for the verdicts a previous process was still waiting for when
    it starts (polling or webhook alike), and dropping its watchers when it stops: they would
    otherwise outlive it, and the next process resumes them anyway."""

    async def start(self) -> None:
        await super().start()
        await resume_verdicts(self)

    async def stop(self) -> None:
        await stop_verdict_watchers(self)
        await super().stop()
        # Again: an update still in flight when stopping began may have started one.
        await stop_verdict_watchers(self)


async def set_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The command menu in the volunteer's Telegram, in Uzbek and (for Russian clients)
    Russian. A failure here is logged: the bot works without the menu."""
    try:
        await application.bot.set_my_commands(bot_commands(texts.UZBEK))
        await application.bot.set_my_commands(bot_commands(texts.RUSSIAN), language_code="ru")
    except TelegramError as error:
        logger.warning("bot commands not set: %s", error)


def build_application(*, webhook: bool = False) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, ready to `initialize()`. With `webhook`, no Updater: updates come from the
    webhook view instead of getUpdates."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise ImproperlyConfigured(NOT_CONFIGURED)
    api = settings.TELEGRAM_API_BASE_URL.rstrip("/")
    builder = (
        Application.builder()
        .application_class(VolunteerBot)
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .persistence(DatabasePersistence(update_interval=settings.TELEGRAM_PERSISTENCE_SECONDS))
        .concurrent_updates(PerVolunteerUpdateProcessor(settings.TELEGRAM_CONCURRENT_UPDATES))
        .post_init(set_commands)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    add_handlers(application)
    return application

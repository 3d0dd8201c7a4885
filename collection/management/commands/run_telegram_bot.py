"""manage.py run_telegram_bot: the volunteers' bot, fetching updates by long polling; or, with
--set-webhook URL, register the production webhook (/telegram/webhook/) with Telegram and exit."""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from telegram import Update
from telegram.error import TelegramError

from collection.telegram.application import build_application


class Command(BaseCommand):
    help = "Run the volunteers' Telegram bot (long polling), or register its webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--set-webhook",
            metavar="URL",
            help="register URL (https://<host>/telegram/webhook/) with TELEGRAM_WEBHOOK_SECRET "
            "and exit; the web process then receives the updates",
        )

    def handle(self, *args: Any, set_webhook: str | None, **options: Any) -> None:
        try:
            application = build_application()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if set_webhook:
            self._set_webhook(application, set_webhook)
            return
        self.stdout.write("Telegram bot polling; Ctrl-C stops it.")
        self.stdout.flush()
        # start_polling deletes a webhook left by a webhook deployment (getUpdates fails while
        # one is set).
        application.run_polling(allowed_updates=Update.ALL_TYPES)

    def _set_webhook(self, application: Any, url: str) -> None:
        secret = settings.TELEGRAM_WEBHOOK_SECRET
        if not secret:
            raise CommandError(
                "TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses every update without "
                "it. Set it (letters, digits, _ and -, up to 256) in the web process and here."
            )

        async def register() -> None:
            async with application.bot:
                await application.bot.set_webhook(
                    url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                )

        try:
            asyncio.run(register())
        except TelegramError as error:
            raise CommandError(f"Telegram refused the webhook: {error}") from error
        self.stdout.write(f"Webhook set: {url}")

"""manage.py run_telegram_bot: the volunteers' bot, fetching updates by long polling (the
production alternative is the webhook view, /telegram/webhook/)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from telegram import Update

from collection.telegram.application import build_application


class Command(BaseCommand):
    help = "Run the volunteers' Telegram bot (long polling)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            application = build_application()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write("Telegram bot polling; Ctrl-C stops it.")
        self.stdout.flush()
        # start_polling deletes a webhook left by a webhook deployment (getUpdates fails while
        # one is set).
        application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)

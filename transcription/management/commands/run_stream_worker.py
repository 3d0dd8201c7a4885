from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand

from transcription.stream_worker import serve


class Command(BaseCommand):
    help = "Run a live-stream worker: holds the Whisper model, serves /ws/stream/ sessions."

    def add_arguments(self, parser):
        parser.add_argument(
            "--slots",
            type=int,
            default=settings.STREAM_SLOTS,
            help="concurrent live sessions this worker accepts",
        )

    def handle(self, *args, slots: int, **options):
        if not settings.CHANNEL_LAYER_CROSSES_PROCESSES:
            self.stderr.write(
                "REDIS_URL is not set: a separate stream worker cannot reach the web process. "
                "Without Redis the web process runs live sessions itself."
            )
            return
        self.stdout.write(f"Stream worker starting with {slots} slots")
        asyncio.run(serve(slots=slots))

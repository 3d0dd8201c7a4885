"""A task's audio for the editor's media element, through the one range-request responder
(uzwhisper.audio_responses): the browser streams and seeks, never downloads it whole."""

from __future__ import annotations

import mimetypes
from typing import BinaryIO, cast

from django.http.response import HttpResponseBase
from rest_framework import status

from uzwhisper.audio_responses import audio_file_response
from uzwhisper.errors import ApplicationError

from .models import Task


def task_audio_response(*, task: Task, range_header: str | None) -> HttpResponseBase:
    """Raises ApplicationError `audio_missing` (410) when the stored file is gone (its job was
    deleted, say)."""
    storage = task.audio.storage
    if not task.audio.name or not storage.exists(task.audio.name):
        raise ApplicationError(
            "audio_missing",
            "The audio of this task is gone (its recording was deleted).",
            status_code=status.HTTP_410_GONE,
        )
    content_type = mimetypes.guess_type(task.audio.name)[0] or "application/octet-stream"
    return audio_file_response(
        handle=cast(BinaryIO, task.audio.open("rb")),
        size=task.audio.size,
        content_type=content_type,
        range_header=range_header,
    )

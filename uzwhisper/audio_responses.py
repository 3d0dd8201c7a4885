"""Stored audio for the browser's <audio> element (job pages, the validator, the annotation
editor): the whole file (200) or one byte range (206, so the player can seek), or 416 for a range
past the end.

The body is an asynchronous iterator that reads one chunk at a time in a worker thread. Under
ASGI Django reads a synchronous iterator to its end into memory before it sends a byte
(`StreamingHttpResponse.__aiter__`), which put a whole 200 MB recording in the web process for
every request that played it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO

from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from uzwhisper.lib.byte_ranges import RangeNotSatisfiable, parse_byte_range

# Memory held per response; large enough that the thread hop per chunk costs little.
CHUNK_BYTES = 256 * 1024


class FileChunks:
    """Bytes [start, start + length) of an open binary file, read in a thread chunk by chunk.

    Owns `handle`: it is closed after the last chunk, or by close(), which Django calls (a
    streaming response closes its content) when the response ends or the client goes away."""

    def __init__(self, handle: BinaryIO, *, start: int, length: int) -> None:
        self._handle = handle
        self._start = start
        self._length = length

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        # thread_sensitive=False: disk (or S3) reads need not queue behind the sync views.
        read = sync_to_async(self._handle.read, thread_sensitive=False)
        try:
            await sync_to_async(self._handle.seek, thread_sensitive=False)(self._start)
            remaining = self._length
            while remaining > 0:
                block = await read(min(CHUNK_BYTES, remaining))
                if not block:
                    break  # the file is shorter than it was said to be
                remaining -= len(block)
                yield block
        finally:
            self.close()

    def close(self) -> None:
        self._handle.close()


def audio_file_response(
    *, handle: BinaryIO, size: int, content_type: str, range_header: str | None
) -> HttpResponseBase:
    """The response for a stored file of `size` bytes open in `handle`, which it takes over
    (and closes)."""
    try:
        byte_range = parse_byte_range(range_header, size=size)
    except RangeNotSatisfiable:
        handle.close()
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    start, length = (0, size) if byte_range is None else (byte_range.start, byte_range.length)
    response = StreamingHttpResponse(
        FileChunks(handle, start=start, length=length),
        status=200 if byte_range is None else 206,
        content_type=content_type,
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if byte_range is not None:
        response["Content-Range"] = byte_range.content_range(size)
    return response

"""HTTP Range support for serving audio, so browsers can seek in long recordings. Django-free
apart from the response class it returns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _iter_range(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        handle.close()


def ranged_file_response(
    handle: BinaryIO, *, size: int, content_type: str, range_header: str | None
) -> HttpResponse:
    """A 200 with the whole file, a 206 with the requested byte range, or a 416."""
    match = _RANGE.match(range_header or "")
    if not match or size == 0:
        response: HttpResponse = FileResponse(handle, content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        start, end = max(0, size - int(last or 0)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    response = StreamingHttpResponse(
        _iter_range(handle, start, length), status=206, content_type=content_type
    )
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response

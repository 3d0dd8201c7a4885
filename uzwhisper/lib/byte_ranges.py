"""The HTTP `Range` header (RFC 9110 §14), as far as serving audio needs it: one byte range,
so a browser can seek in a long recording."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ValueError):
    """The range lies wholly past the end of the resource: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_byte_range(header: str | None, *, size: int) -> ByteRange | None:
    """The one byte range `header` asks for within a resource of `size` bytes.

    None means "send the whole resource": no header, an empty resource, or a header that is
    malformed or asks for several ranges (a server may ignore Range, and should ignore an
    invalid one). Raises RangeNotSatisfiable when the range starts at or past the end."""
    match = _SINGLE_RANGE.match((header or "").strip())
    if not match or size <= 0:
        return None
    first, last = match.groups()
    if first == "":
        if last == "":
            return None  # "bytes=-" names no range
        suffix = int(last)  # the last N bytes
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # invalid: the header is ignored
    if start >= size:
        raise RangeNotSatisfiable(header)
    end = min(int(last), size - 1) if last != "" else size - 1
    return ByteRange(start, end)

from __future__ import annotations

import pytest

from uzwhisper.lib.byte_ranges import ByteRange, RangeNotSatisfiable, parse_byte_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=100-199", ByteRange(100, 199)),
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=900-", ByteRange(900, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),  # clipped to the end
        ("bytes=-10", ByteRange(990, 999)),  # the last 10 bytes
        ("bytes=-5000", ByteRange(0, 999)),  # a suffix longer than the file is all of it
        (" bytes=1-2 ", ByteRange(1, 2)),
    ],
)
def test_single_ranges(header, expected):
    assert parse_byte_range(header, size=1000) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes=-", "bytes=5-3", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes 0-1"],
)
def test_no_header_or_one_to_ignore_means_the_whole_file(header):
    assert parse_byte_range(header, size=1000) is None


def test_an_empty_file_is_sent_whole():
    assert parse_byte_range("bytes=0-10", size=0) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1005-2000", "bytes=-0"])
def test_ranges_past_the_end_are_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_byte_range(header, size=1000)


def test_length_and_content_range():
    byte_range = ByteRange(100, 199)
    assert byte_range.length == 100
    assert byte_range.content_range(1000) == "bytes 100-199/1000"

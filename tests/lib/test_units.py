from __future__ import annotations

import pytest

from uzwhisper.lib.units import MIB, format_mib


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (200 * MIB, "200 MiB"),
        (2048 * MIB, "2048 MiB"),
        (int(12.34 * MIB), "12.3 MiB"),
        (50_000, "0.0477 MiB"),
        (0, "0 MiB"),
    ],
)
def test_format_mib(size, text):
    assert format_mib(size) == text

"""Sizes as people read them. Limits are binary (`200 * 1024 * 1024`), so they are shown in MiB:
the same number everywhere (upload page, error messages, README)."""

from __future__ import annotations

MIB = 1024 * 1024


def format_mib(size_bytes: int | float) -> str:
    """`size_bytes` (>= 0) in MiB with up to three significant digits: "200 MiB", "12.3 MiB",
    "0.0477 MiB"; whole MiB from 100 up."""
    value = size_bytes / MIB
    number = f"{value:.0f}" if value >= 100 else f"{value:.3g}"
    return f"{number} MiB"

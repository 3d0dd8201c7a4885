"""Readable forms of an evaluation result: a console table, a Markdown report and an SVG bar
chart of WER by slice. Django-free: they take the result dictionary that is also written as JSON
(see `training.selectors.evaluation_run_result`), so the files and the web page agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

Slice = Mapping[str, Any]


def safe_file_name(text: str) -> str:
    """`text` as one file name: runs of anything but letters, digits, `.`, `_` and `-` (path
    separators, spaces, quotes) become one `-`."""
    cleaned = re.sub(r"[^\w.-]+", "-", text).strip("-.")
    return cleaned[:100] or "evaluation"


def slice_label(row: Slice) -> str:
    return "overall" if row["dimension"] == "overall" else f"{row['dimension']}={row['value']}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def format_table(slices: Sequence[Slice]) -> str:
    """WER and CER by slice as fixed-width text for a terminal."""
    header = ("slice", "utts", "words", "errors", "WER", "chars", "CER")
    rows = [
        (
            slice_label(row),
            str(row["utterances"]),
            str(row["ref_words"]),
            str(row["word_errors"]),
            percent(row["wer"]),
            str(row["ref_chars"]),
            percent(row["cer"]),
        )
        for row in slices
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


BAR_HEIGHT = 18
ROW_GAP = 6
LABEL_WIDTH = 270
PLOT_WIDTH = 330
VALUE_WIDTH = 70


LABEL_CHARS = 34  # what fits in LABEL_WIDTH at 12 px


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wer_chart_svg(slices: Sequence[Slice]) -> str:
    """A horizontal bar chart of WER per slice. Labels are escaped: the SVG is safe to inline.

    The scale runs to 100%, or further when a slice is worse than that (WER has no upper bound:
    a model that invents words scores above 100%), with a rule marking 100%.
    """
    scored = [row for row in slices if row.get("wer") is not None]
    top = max([1.0, *(row["wer"] for row in scored)])
    height = max(1, len(scored)) * (BAR_HEIGHT + ROW_GAP) + 28
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="wer-chart-title" '
        'font-family="system-ui, sans-serif" font-size="12">',
        '<title id="wer-chart-title">WER by slice</title>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    for index, row in enumerate(scored):
        y = 8 + index * (BAR_HEIGHT + ROW_GAP)
        bar = PLOT_WIDTH * row["wer"] / top
        colour = "#1d232b" if row["dimension"] == "overall" else "#0b6bcb"
        label = escape(_shorten(slice_label(row), LABEL_CHARS))
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end" fill="#1d232b">'
            f"{label}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"><title>{label}: WER {percent(row["wer"])}</title></rect>',
            f'<text x="{LABEL_WIDTH + bar + 6:.1f}" y="{y + 13}" fill="#1d232b">'
            f"{percent(row['wer'])}</text>",
        ]
    axis_y = height - 16
    hundred = LABEL_WIDTH + PLOT_WIDTH / top
    parts += [
        f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{LABEL_WIDTH + PLOT_WIDTH}" y2="{axis_y}" '
        'stroke="#66707c"/>',
        f'<line x1="{hundred:.1f}" y1="4" x2="{hundred:.1f}" y2="{axis_y}" stroke="#b3261e" '
        'stroke-dasharray="3 3"/>',
        f'<text x="{LABEL_WIDTH}" y="{height - 2}" fill="#66707c">0%</text>',
        f'<text x="{hundred:.1f}" y="{height - 2}" text-anchor="middle" fill="#b3261e">100%</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_report(result: Mapping[str, Any], *, chart_file: str = "") -> str:
    """The run as Markdown: facts, the slice table, the chart (an image link to `chart_file`
    beside the report, since most Markdown viewers drop inline SVG), skipped lines, utterances."""
    model = result["model"]
    overall = result["overall"]
    lines = [
        f"# Evaluation {_cell(result['name'])}: {_cell(model['id'] or model['path'])} on "
        f"{_cell(result['manifest'])}",
        "",
        f"- Run: `{result['run_id']}` ({result['status']}), "
        f"started {result['started_at']}, finished {result['finished_at']}",
        f"- Model: `{model['id']}` at `{model['path']}` (checksum `{model['checksum']}`)",
        f"- Language mode: {result['language_mode']}; beam size {result['beam_size']}",
    ]
    if result["status"] != "done":
        lines.append(
            f"- **Incomplete** ({result['status']}): {_cell(result['error'])}. The figures below "
            "cover the utterances scored before that."
        )
    rtf = result.get("real_time_factor")
    lines += [
        f"- Utterances scored: {result['utterances']}; lines skipped: {len(result['skipped'])}",
        f"- Audio: {result['audio_seconds']:.1f} s, decoded in {result['processing_seconds']:.1f} s"
        + (f" (real-time factor {rtf:.2f})" if rtf is not None else ""),
        f"- Overall: WER **{percent(overall['wer'])}**, CER **{percent(overall['cer'])}**",
        "",
        "WER and CER are corpus-level (total edits over total reference words or characters), "
        "after the project's normaliser on both sides.",
        "",
        "## WER and CER by slice",
        "",
        "| slice | utterances | ref words | word errors (S/D/I) | WER | ref chars | CER |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["slices"]:
        lines.append(
            f"| {_cell(slice_label(row))} | {row['utterances']} | {row['ref_words']} | "
            f"{row['word_errors']} ({row['substitutions']}/{row['deletions']}/{row['insertions']})"
            f" | {percent(row['wer'])} | {row['ref_chars']} | {percent(row['cer'])} |"
        )
    if chart_file:
        lines += ["", f"![WER by slice]({chart_file})"]
    if result["skipped"]:
        lines += ["", "## Skipped", ""]
        lines += [f"- line {s['line']} ({s['code']}): {s['reason']}" for s in result["skipped"]]
    lines += [
        "",
        "## Utterances",
        "",
        "| line | audio | language (asked → decoded) | WER | CER | reference | hypothesis |",
        "|---:|---|---|---:|---:|---|---|",
    ]
    for item in result["items"]:
        asked = f"{item['language']} ({item['language_requested']} → {item['language_decoded']})"
        lines.append(
            f"| {item['line']} | {_cell(item['audio'])} | {asked} | {percent(item['wer'])} | "
            f"{percent(item['cer'])} | {_cell(item['reference'])} | {_cell(item['hypothesis'])} |"
        )
    return "\n".join(lines) + "\n"

"""Readable forms of an evaluation result: a console table, a Markdown report and an SVG bar
chart of WER by slice. Django-free: they take the result dictionary that is also written as JSON
(see `training.selectors.evaluation_run_result`), so the files and the web page agree. Also the
quality benchmark's page, from the figures `training.benchmarks` makes of its runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from uzwhisper.asr.languages import LANGUAGE_MODE_LABELS, SUPPORTED_LANGUAGES

from .benchmarks import CODESWITCH_MODES

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


# --- the quality benchmark's page ----------------------------------------------------------


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _fraction(part: int, whole: int, share: float | None) -> str:
    return f"{part} / {whole} ({percent(share)})"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _meaning(figures: Mapping[str, Any]) -> list[str]:
    """What the numbers say, worded from the numbers themselves."""
    rows = {(row["slice"], row["decoding"]): row for row in figures["wer_table"]}
    uz, ru = rows.get(("uz", "forced uz")), rows.get(("ru", "forced ru"))
    auto = figures["runs"]["codeswitch_auto"]
    mixed = figures["runs"]["codeswitch_mixed"]
    text = []
    if uz and ru and uz["wer"] is not None and ru["wer"] is not None:
        if uz["wer"] > ru["wer"]:
            ratio = f" ({uz['wer'] / ru['wer']:.1f}× the Russian)" if ru["wer"] else ""
            text.append(
                f"Uzbek is the weak language: WER {percent(uz['wer'])}{ratio} against "
                f"{percent(ru['wer'])} for Russian, with the language forced. Whisper base "
                "used zero-shot, with no Uzbek fine-tuning, is poor at Uzbek, as expected. The "
                "fine-tuning loop (collected, reviewed Uzbek speech → training → evaluation by "
                "slice) is how quality improves; this page is regenerated to measure it."
            )
        else:
            text.append(
                f"Uzbek WER ({percent(uz['wer'])}) is not above Russian "
                f"({percent(ru['wer'])}) on these clips. Whisper base zero-shot is known to be "
                "poor at Uzbek; the fine-tuning loop is how quality improves, and this page is "
                "regenerated to measure it."
            )
    if auto["wer"] is not None and mixed["wer"] is not None:
        text.append(_codeswitch_meaning(figures))
    return text


def _codeswitch_meaning(figures: Mapping[str, Any]) -> str:
    """Whether `mixed` beat `auto`, and which edits made the difference."""
    auto = figures["runs"]["codeswitch_auto"]
    mixed = figures["runs"]["codeswitch_mixed"]
    parts = {mode: figures["word_tags"]["hypothesis"][mode]["by_part"] for mode in CODESWITCH_MODES}

    def total(mode: str, kind: str) -> int:
        return sum(part[kind] for part in parts[mode].values())

    gain = (auto["wer"] - mixed["wer"]) * 100
    if gain > 0:
        verdict = f"`mixed` beats `auto` on the code-switched set by {gain:.1f} WER points"
    elif gain < 0:
        verdict = (
            f"`mixed` does not beat `auto` on the code-switched set ({-gain:.1f} WER points worse)"
        )
    else:
        verdict = "`mixed` and `auto` give the same WER on the code-switched set"
    sentences = [f"{verdict}: {percent(mixed['wer'])} against {percent(auto['wer'])}."]
    words = total("auto", "ref_words")
    hits = {mode: total(mode, "hits") for mode in CODESWITCH_MODES}
    if hits["mixed"] != hits["auto"]:
        more = "more" if hits["mixed"] > hits["auto"] else "fewer"
        sentences.append(
            f"`mixed` gets {more} reference words exactly right ({hits['mixed']} against "
            f"{hits['auto']} of {words}), with a CER of {percent(mixed['cer'])} against "
            f"{percent(auto['cer'])}."
        )
    deletions = {mode: total(mode, "deletions") for mode in CODESWITCH_MODES}
    if deletions["auto"] > deletions["mixed"]:
        sentences.append(
            "`auto` decodes a whole clip in one language and loses much of the other part "
            f"({deletions['auto']} reference words deleted against {deletions['mixed']})."
        )
    at_switch = {
        mode: figures["word_tags"]["hypothesis"][mode]["insertions_at_switch"]
        for mode in CODESWITCH_MODES
    }
    insertions = {mode: total(mode, "insertions") + at_switch[mode] for mode in CODESWITCH_MODES}
    if insertions["mixed"] > insertions["auto"]:
        where = ", ".join(
            [
                *(
                    f"{parts['mixed'][language]['insertions']} in the "
                    f"{LANGUAGE_MODE_LABELS[language]} parts"
                    for language in SUPPORTED_LANGUAGES
                ),
                f"{at_switch['mixed']} at a switch point",
            ]
        )
        over = sum(1 for clip in figures["clips"]["mixed"] if clip["wer"] > 1.0)
        sentences.append(
            f"`mixed` inserts {insertions['mixed']} words against {insertions['auto']} "
            f"({where}): words with no counterpart in the reference, invented or repeated; "
            f"{_count(over, 'clip')} {'scores' if over == 1 else 'score'} over 100% WER "
            "(see the per-clip table)."
        )
    return " ".join(sentences)


def benchmark_markdown(figures: Mapping[str, Any]) -> str:
    """The quality benchmark's page from its figures (`training.benchmarks.quality_figures`
    and the facts the script adds: date, machine, model, seed, speech folder)."""
    model, host = figures["model"], figures["machine"]
    runs = figures["runs"]
    codeswitch = figures["codeswitch_set"]
    mixed_label = "mixed"
    lines = [
        "# Benchmarks: recognition quality",
        "",
        "Generated by `scripts/benchmark_quality.py`; do not edit by hand. Every figure below "
        "comes from the run that wrote this page (the same figures are in `benchmarks.json`).",
        "",
        f"- Date: {figures['generated_at']}",
        f"- Machine: {host['cpu_count']} cores ({_cell(host['cpu_model'])}), {host['platform']}, "
        f"Python {host['python']}, "
        + ", ".join(f"{name} {version}" for name, version in host["packages"].items()),
        f"- Model: `{model['id']}` ({model['device']}, {model['compute_type']}, "
        f"loaded in {_seconds(model['load_seconds'])}); greedy decoding (beam size "
        f"{figures['beam_size']}), VAD on, as `manage.py evaluate` runs it; each decode keeps "
        "to its language's alphabet (Uzbek Latin, Russian Cyrillic, ASCII), and a window that "
        "stays a repetition loop after every fallback is left out",
        f"- Speech: `{figures['speech_dir']}`: "
        f"{_count(runs['monolingual']['utterances'], 'monolingual clip')}; code-switched set of "
        f"{_count(codeswitch['clips'], 'clip')} "
        f"({_seconds(codeswitch['audio_seconds'])}), each a real Uzbek and a real Russian clip "
        f"joined with a {codeswitch['gap_seconds']:.1f} s pause, every reference word's "
        "language known",
        "",
        "## WER and CER",
        "",
        "Corpus-level (total edits over total reference words or characters), after the "
        "project's scoring normaliser on both sides. Monolingual clips are decoded with their "
        "own language forced; the code-switched set is decoded with `auto` and with `mixed`. "
        "Like `evaluate`, decoding falls back to sampling at higher temperatures where a window "
        f"looks like a failure; the sampler is seeded ({figures['seed']}) before the first run, "
        "so a rerun of this script with the same seed and threads gives the same figures, while "
        "another seed can move them, most where Uzbek is decoded (the runs share one generator, "
        "so each run's figures also depend on the runs before it).",
        "",
        "| slice | decoding | clips | audio | ref words | word errors (S/D/I) | WER | CER |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["wer_table"]:
        lines.append(
            f"| {row['slice']} | {row['decoding']} | {row['utterances']} | "
            f"{_seconds(row['audio_seconds'])} | {row['ref_words']} | {row['word_errors']} "
            f"({row['substitutions']}/{row['deletions']}/{row['insertions']}) | "
            f"{percent(row['wer'])} | {percent(row['cer'])} |"
        )
    auto, mixed = runs["codeswitch_auto"], runs["codeswitch_mixed"]
    words = figures["word_tags"]["hypothesis"]

    def side_by_side(label: str, auto_value: str, mixed_value: str) -> str:
        return f"| {label} | {auto_value} | {mixed_value} |"

    def recognised(mode: str, language: str) -> str:
        one = words[mode]["by_part"][language]
        return _fraction(one["hits"], one["ref_words"], one["share_recognised"])

    def part_wer(mode: str, language: str) -> str:
        one = words[mode]["by_part"][language]
        return (
            f"{percent(one['wer'])} ({one['substitutions']}/{one['deletions']}/{one['insertions']})"
        )

    def decoded(run: dict[str, Any]) -> str:
        return ", ".join(f"{lang} {count}" for lang, count in run["decoded_languages"].items())

    lines += [
        "",
        "## Code-switched set: auto against mixed",
        "",
        f"| | auto | {mixed_label} |",
        "|---|---:|---:|",
        side_by_side("WER", percent(auto["wer"]), percent(mixed["wer"])),
        side_by_side("CER", percent(auto["cer"]), percent(mixed["cer"])),
    ]
    for language in SUPPORTED_LANGUAGES:
        name = LANGUAGE_MODE_LABELS[language]
        lines += [
            side_by_side(
                f"WER of the {name} parts (S/D/I)",
                part_wer("auto", language),
                part_wer("mixed", language),
            ),
            side_by_side(
                f"{name} reference words recognised exactly",
                recognised("auto", language),
                recognised("mixed", language),
            ),
        ]
    lines += [
        side_by_side(
            "words inserted at a switch point",
            str(words["auto"]["insertions_at_switch"]),
            str(words["mixed"]["insertions_at_switch"]),
        ),
        side_by_side("clips by decoded language", decoded(auto), decoded(mixed)),
        "",
        "The parts' figures split the clips' word edits by the language of the reference words "
        "(jiwer's alignment). An inserted word counts in the part whose reference words stand on "
        "both sides of it; one inserted between an Uzbek and a Russian word could belong to "
        "either part, and is counted only in the clip's WER.",
        "",
        "Per clip (WER; the language the engine reported):",
        "",
        f"| clip | auto | {mixed_label} |",
        "|---|---:|---:|",
    ]
    by_mode = {mode: {c["audio"]: c for c in figures["clips"][mode]} for mode in CODESWITCH_MODES}

    def clip_cell(mode: str, audio: str) -> str:
        one = by_mode[mode].get(audio)
        return "—" if one is None else f"{percent(one['wer'])} ({one['language_decoded']})"

    for audio in dict.fromkeys([*by_mode["auto"], *by_mode["mixed"]]):
        lines.append(
            side_by_side(f"`{_cell(audio)}`", clip_cell("auto", audio), clip_cell("mixed", audio))
        )
    lines += [
        "",
        "## Word language tags",
        "",
        "`uzwhisper.lib.langid.tag_words` on the code-switched set, against each word's known "
        "language (uz or ru). Words tagged `other` (numbers, names, foreign words) are counted "
        "apart and left out of the agreement. Reference: the reference words as written. "
        "Hypothesis: the hypothesis words as written, aligned to the reference with jiwer; "
        "every equal or substituted pair compares the hypothesis word's tag with the language "
        "of the reference word it stands for.",
        "",
        "| text | words compared | tagged other | agree | agreement | Uzbek words | "
        "Russian words |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    tag_rows = [
        ("reference", figures["word_tags"]["reference"]),
        ("hypothesis, auto", words["auto"]["tags"]),
        (f"hypothesis, {mixed_label}", words["mixed"]["tags"]),
    ]
    for label, tags in tag_rows:
        by_language = tags["by_language"]
        per_language = [
            _fraction(
                by_language[language]["agree"],
                by_language[language]["words_compared"] - by_language[language]["tagged_other"],
                by_language[language]["agreement"],
            )
            for language in SUPPORTED_LANGUAGES
        ]
        lines.append(
            f"| {label} | {tags['words_compared']} | {tags['tagged_other']} | {tags['agree']} "
            f"| {percent(tags['agreement'])} | {per_language[0]} | {per_language[1]} |"
        )
    lines += [
        "",
        "## Run times",
        "",
        "Decode time is the evaluation loop (audio decoding, VAD, recognition, scoring, storing); "
        "wall time adds reading the manifest and writing the reports. The model was loaded "
        "once before the first run.",
        "",
        "| run | decoding | clips | audio | decode time | real-time factor | wall time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, run, decoding in (
        ("monolingual", runs["monolingual"], "each clip's language"),
        ("code-switched", auto, "auto"),
        ("code-switched", mixed, mixed_label),
    ):
        rtf = run["real_time_factor"]
        lines.append(
            f"| {name} | {decoding} | {run['utterances']} | {_seconds(run['audio_seconds'])} | "
            f"{_seconds(run['decode_seconds'])} | {'—' if rtf is None else f'{rtf:.3f}'} | "
            f"{_seconds(run['wall_seconds'])} |"
        )
    skipped = [(name, line) for name, run in runs.items() for line in run["skipped"]]
    if skipped:
        lines += ["", "Lines the evaluation skipped:", ""]
        lines += [
            f"- {name}, line {s['line']} ({s['code']}): {_cell(s['reason'])}" for name, s in skipped
        ]
    lines += ["", "## What the numbers mean", ""]
    lines += [f"{paragraph}\n" for paragraph in _meaning(figures)]
    lines += [
        "Regenerate with `.venv/bin/python scripts/benchmark_quality.py` (the whole sets take a "
        "few minutes on 2 cores).",
    ]
    return "\n".join(lines).rstrip() + "\n"

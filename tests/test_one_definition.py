"""One fact, one place (STYLE.md): the sample rate and the language lists are defined in
uzwhisper.asr.languages only. Apps and scripts import them; pages get them from their view
(a data attribute or json_script), never as a literal of their own."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import ROOT

DEFINITION = ROOT / "uzwhisper" / "asr" / "languages.py"
CODE_DIRS = ("uzwhisper", "transcription", "collection", "annotation", "training", "scripts")
PAGE_DIRS = ("templates", "static/js")
SAMPLE_RATE_LITERAL = re.compile(r"\b16_?000\b")
# A list of language codes written out: ["uz", "ru", …] or ("auto", "uz", …).
LANGUAGE_LIST_LITERAL = re.compile(r"""["'](auto|uz|ru|mixed|other)["']\s*,\s*["'](uz|ru)["']""")
# Where the literal is not the fact itself: a shell command in a docstring.
ALLOWED = {("transcription/stream_client.py", "arecord -f S16_LE -r 16000")}


def _files(dirs: tuple[str, ...], suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for top in dirs:
        for path in (ROOT / top).rglob("*"):
            parts = path.relative_to(ROOT).parts
            if path.suffix in suffixes and "migrations" not in parts and "vendor" not in parts:
                found.append(path)
    return sorted(found)


def _hits(files: list[Path], pattern: re.Pattern[str]) -> list[str]:
    hits = []
    for path in files:
        if path == DEFINITION:
            continue
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line) and not any(
                name == allowed and text in line for allowed, text in ALLOWED
            ):
                hits.append(f"{name}:{number}: {line.strip()}")
    return hits


def test_the_sample_rate_is_written_out_only_where_it_is_defined():
    files = _files(CODE_DIRS + PAGE_DIRS, (".py", ".js", ".html"))
    assert len(files) > 100  # the walk sees the project
    assert not _hits(files, SAMPLE_RATE_LITERAL), "use uzwhisper.asr.languages.SAMPLE_RATE"


def test_pages_write_out_no_list_of_languages():
    files = _files(PAGE_DIRS, (".js", ".html"))
    assert any(path.name == "annotate.js" for path in files)
    assert not _hits(files, LANGUAGE_LIST_LITERAL), "pass the list from the view"

"""manage.py import_prompts FILE: add prompts from a text file (one sentence a line, all in
--language) or a CSV with `text` and `language` columns (and `domain`). Duplicates are skipped;
bad rows are reported with their line and the rest go on."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from collection.models import Prompt
from collection.services import PromptRow, prompts_import


def read_rows(path: Path, *, language: str | None) -> Iterator[PromptRow]:
    """Rows of a .csv (header with text, language and optionally domain) or of a text file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise CommandError(f"{path.name}: a CSV needs a header with a `text` column.")
            for line, row in enumerate(reader, start=2):
                yield PromptRow(
                    text=row.get("text") or "",
                    language=(row.get("language") or language or "").strip(),
                    domain=(row.get("domain") or "").strip(),
                    line=line,
                )
            return
        if language is None:
            raise CommandError("A text file needs --language (uz, ru or mixed).")
        for line, text in enumerate(handle, start=1):
            if text.strip():
                yield PromptRow(text=text, language=language, line=line)


class Command(BaseCommand):
    help = "Import prompts for volunteers to read, from a text file or a CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--language", choices=Prompt.Language.values)
        parser.add_argument("--source", default="", help="where they come from, with licence")

    def handle(self, *args: Any, file: Path, language: str | None, source: str, **options: Any):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        result = prompts_import(rows=read_rows(file, language=language), source=source)
        for error in result.errors:
            self.stderr.write(f"{file.name}:{error['line']}: {error['error']}")
        self.stdout.write(
            f"{result.created} prompts added, {result.duplicates} duplicates skipped, "
            f"{len(result.errors)} rows refused"
        )

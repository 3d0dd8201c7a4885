"""Reading JSONL manifests (format in DESIGN.md): evaluation and training sets, and the
recordings an admin imports for annotation. Django-free.

One JSON object a line: `audio` (a path relative to the manifest file), `text`, `language`
(uz, ru or mixed), and optionally `dialect`, `speaker`, `source`, `code_switched`, `duration_s`,
`word_languages`. A bad line is reported with its number and skipped, so one typo does not
throw away a run; a manifest with no usable line at all is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES
from uzwhisper.lib.metrics import normalise

# A row is in one language, or mixed (code-switched).
MANIFEST_LANGUAGES = (*SUPPORTED_LANGUAGES, "mixed")
# A file stem that says nothing about the set: its folder names the run instead.
GENERIC_MANIFEST_STEM = "manifest"


class ManifestError(Exception):
    """The manifest as a whole cannot be evaluated: missing, empty, or not one usable line."""


@dataclass(frozen=True)
class SkippedLine:
    line: int  # 1-based, as an editor shows it
    code: str  # malformed_json | missing_field | unknown_language | missing_audio | ...
    reason: str

    def message(self, manifest_name: str = "") -> str:
        where = f"{manifest_name}:{self.line}" if manifest_name else f"line {self.line}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class ManifestRow:
    line: int
    audio: str  # as written in the manifest
    audio_path: Path  # resolved against the manifest's folder
    text: str
    language: str
    dialect: str = ""
    speaker: str = ""
    source: str = ""
    code_switched: bool = False
    duration_s: float | None = None
    word_languages: list[str] = field(default_factory=list)

    @property
    def is_code_switched(self) -> bool:
        return self.code_switched or self.language == "mixed"


@dataclass
class Manifest:
    path: Path
    rows: list[ManifestRow]
    skipped: list[SkippedLine]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def default_run_name(self) -> str:
        return default_run_name(self.path)


def default_run_name(path: Path) -> str:
    """A name for a run over the manifest at `path`: its file stem, or its folder's name when the
    file is the generic `manifest.jsonl` (sets laid out alike, as `build_codeswitch_set.py` and
    the test data are, would otherwise all be called "manifest")."""
    if path.stem.lower() == GENERIC_MANIFEST_STEM:
        folder = path.resolve().parent.name
        if folder:
            return folder
    return path.stem


class _BadLine(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _optional_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise _BadLine("bad_field", f'"{key}" must be a string, not {type(value).__name__}')
    return str(value)


def _parse_row(raw: str, line: int, base: Path, *, require_text: bool) -> ManifestRow:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _BadLine(
            "malformed_json", f"not valid JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    if not isinstance(data, dict):
        raise _BadLine("malformed_json", f"expected a JSON object, got {type(data).__name__}")
    for key in ("audio", "text", "language"):
        if not isinstance(data.get(key), str) or (key != "text" and not data[key].strip()):
            raise _BadLine("missing_field", f'"{key}" is missing or not a string')
    language = data["language"].strip()
    if language not in MANIFEST_LANGUAGES:
        raise _BadLine(
            "unknown_language",
            f'unknown language "{language}" (allowed: {", ".join(MANIFEST_LANGUAGES)})',
        )
    code_switched = data.get("code_switched", False)
    if not isinstance(code_switched, bool):
        raise _BadLine("bad_field", '"code_switched" must be true or false')
    duration = data.get("duration_s")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float)
    ):
        raise _BadLine("bad_field", '"duration_s" must be a number')
    word_languages = data.get("word_languages") or []
    if not isinstance(word_languages, list) or not all(isinstance(w, str) for w in word_languages):
        raise _BadLine("bad_field", '"word_languages" must be a list of strings')
    if require_text and not normalise(data["text"], language).split():
        raise _BadLine(
            "empty_reference",
            f"the reference {data['text']!r} is empty after normalising (only punctuation?)",
        )
    audio_path = (base / data["audio"]).resolve()
    if not audio_path.is_file():
        raise _BadLine("missing_audio", f"audio file not found: {data['audio']} ({audio_path})")
    return ManifestRow(
        line=line,
        audio=data["audio"],
        audio_path=audio_path,
        text=data["text"],
        language=language,
        dialect=_optional_str(data, "dialect"),
        speaker=_optional_str(data, "speaker"),
        source=_optional_str(data, "source"),
        code_switched=code_switched,
        duration_s=float(duration) if duration is not None else None,
        word_languages=list(word_languages),
    )


def read_manifest(
    path: str | Path, *, limit: int | None = None, require_text: bool = True
) -> Manifest:
    """Parse the manifest at `path`, keeping at most `limit` usable rows. Without
    `require_text` a row may have an empty `text` (audio still to be transcribed).

    Bad lines land in `skipped` with their line number and a reason. Blank lines are ignored.
    Raises ManifestError when the file is missing or unreadable, holds no lines, or holds no
    usable line (the message then lists each line's reason).
    """
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    rows: list[ManifestRow] = []
    skipped: list[SkippedLine] = []
    seen_lines = 0
    base = path.resolve().parent
    for number, raw_line in enumerate(raw_bytes.splitlines(), start=1):
        if limit is not None and len(rows) >= limit:
            break
        try:
            text = raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            seen_lines += 1
            skipped.append(SkippedLine(number, "malformed_json", "not UTF-8 text"))
            continue
        if not text.strip():
            continue
        seen_lines += 1
        try:
            rows.append(_parse_row(text, number, base, require_text=require_text))
        except _BadLine as bad:
            skipped.append(SkippedLine(number, bad.code, bad.reason))
    if not seen_lines:
        raise ManifestError(f"manifest {path.name} is empty: no lines to evaluate")
    if not rows:
        reasons = "; ".join(s.message(path.name) for s in skipped)
        raise ManifestError(f"manifest {path.name} has no usable line: {reasons}")
    return Manifest(path=path, rows=rows, skipped=skipped)

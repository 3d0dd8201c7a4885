"""Manifest reading: each bad line is reported by number and skipped; no usable line is an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import CLIPS
from uzwhisper.lib.manifests import ManifestError, default_run_name, read_manifest

RU = CLIPS["vm-sorry"]
UZ = CLIPS["usc_1131474547_2_29208_1"]


def _line(clip, manifest_dir, **fields) -> str:
    row = {
        "audio": os.path.relpath(clip.path, manifest_dir),
        "text": clip.text,
        "language": clip.language,
        **fields,
    }
    return json.dumps(row, ensure_ascii=False)


def _write(tmp_path, lines: list[str]):
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_rows_are_read_with_paths_relative_to_the_manifest(tmp_path):
    path = _write(
        tmp_path,
        [
            _line(RU, tmp_path, speaker="s1", source="Asterisk", duration_s=2.5),
            "",
            _line(UZ, tmp_path, dialect="Tashkent", code_switched=True, speaker=1131474547),
        ],
    )
    manifest = read_manifest(path)
    assert manifest.skipped == []
    ru, uz = manifest.rows
    assert ru.line == 1
    assert ru.audio_path == RU.path.resolve()
    assert (ru.language, ru.speaker, ru.source, ru.duration_s) == ("ru", "s1", "Asterisk", 2.5)
    assert not ru.is_code_switched
    assert uz.line == 3  # blank lines keep the numbering an editor shows
    assert (uz.dialect, uz.speaker) == ("Tashkent", "1131474547")
    assert uz.is_code_switched


@pytest.mark.parametrize(
    ("bad_line", "code", "words"),
    [
        ('{"audio": "x.wav", "text": "salom", ', "malformed_json", "not valid JSON"),
        ('["not", "an", "object"]', "malformed_json", "expected a JSON object"),
        ('{"audio": "uz/nowhere.wav", "text": "salom", "language": "uz"}', "missing_audio", None),
        (None, "unknown_language", 'unknown language "kk"'),
        (None, "empty_reference", "empty after normalising"),
        ('{"audio": "x.wav", "language": "uz"}', "missing_field", '"text" is missing'),
        (None, "bad_field", '"code_switched" must be true or false'),
    ],
)
def test_a_bad_line_is_reported_by_number_and_skipped(tmp_path, bad_line, code, words):
    if code == "unknown_language":
        bad_line = _line(UZ, tmp_path, language="kk")
    elif code == "empty_reference":
        bad_line = _line(UZ, tmp_path, text="... ?! —")
    elif code == "bad_field":
        bad_line = _line(UZ, tmp_path, code_switched="yes")
    path = _write(tmp_path, [_line(RU, tmp_path), bad_line, _line(UZ, tmp_path)])

    manifest = read_manifest(path)

    assert [row.line for row in manifest.rows] == [1, 3]  # the run goes on without line 2
    [skipped] = manifest.skipped
    assert (skipped.line, skipped.code) == (2, code)
    message = skipped.message("manifest.jsonl")
    assert message.startswith("manifest.jsonl:2: ")
    if words:
        assert words in message
    if code == "missing_audio":
        assert "audio file not found: uz/nowhere.wav" in message


def test_an_empty_manifest_is_an_error(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ManifestError, match=r"manifest empty\.jsonl is empty"):
        read_manifest(empty)
    empty.write_text("\n  \n\n")
    with pytest.raises(ManifestError, match="is empty"):
        read_manifest(empty)


def test_a_missing_manifest_is_an_error(tmp_path):
    with pytest.raises(ManifestError, match="cannot read manifest"):
        read_manifest(tmp_path / "nope.jsonl")


def test_a_manifest_with_only_bad_lines_is_an_error_naming_each(tmp_path):
    path = _write(tmp_path, ["{oops", _line(UZ, tmp_path, language="en")])
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    message = str(caught.value)
    assert "has no usable line" in message
    assert "manifest.jsonl:1: not valid JSON" in message
    assert 'manifest.jsonl:2: unknown language "en"' in message


def test_non_utf8_line_is_skipped(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b'{"text": "\xff\xfe"}\n' + _line(RU, tmp_path).encode() + b"\n")
    manifest = read_manifest(path)
    assert [(s.line, s.reason) for s in manifest.skipped] == [(1, "not UTF-8 text")]
    assert len(manifest.rows) == 1


def test_limit_keeps_the_first_usable_rows(tmp_path):
    path = _write(tmp_path, [_line(RU, tmp_path), _line(UZ, tmp_path), _line(RU, tmp_path)])
    assert [row.line for row in read_manifest(path, limit=2).rows] == [1, 2]


def test_the_shared_manifest_reads_cleanly():
    manifest = read_manifest(CLIPS["vm-sorry"].path.parent.parent / "manifest.jsonl")
    assert manifest.skipped == []
    assert {row.language for row in manifest.rows} == {"uz", "ru"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data/ru-dev.jsonl", "ru-dev"),
        ("/data/codeswitch/manifest.jsonl", "codeswitch"),
        ("/data/speech/Manifest.jsonl", "speech"),
        ("/data/speech/manifest-v2.jsonl", "manifest-v2"),
    ],
)
def test_a_run_is_named_after_the_file_or_the_folder_of_a_generic_manifest(path, expected):
    assert default_run_name(Path(path)) == expected


def test_a_generic_manifest_in_the_current_folder_is_named_after_that_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_run_name(Path("manifest.jsonl")) == tmp_path.name

"""The code-switched set builder (`training.codeswitch_set`, run by
`scripts/build_codeswitch_set.py`) joins real Uzbek and Russian clips."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.support import ROOT, SPEECH
from training.codeswitch_set import build
from uzwhisper.lib.audio import decode_to_array
from uzwhisper.lib.manifests import read_manifest


def load_builder():
    """The script as a module (scripts/ is not a package)."""
    if "build_codeswitch_set" in sys.modules:
        return sys.modules["build_codeswitch_set"]
    spec = importlib.util.spec_from_file_location(
        "build_codeswitch_set", ROOT / "scripts" / "build_codeswitch_set.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_codeswitch_set"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_joined_clips_have_both_texts_and_known_word_languages(tmp_path):
    rows = build(speech_dir=SPEECH, out_dir=tmp_path, pairs=2, gap_s=0.5)

    first, second = rows
    assert first["audio"] == "cs-01-uz-ru.wav"
    assert second["audio"] == "cs-02-ru-uz.wav"
    for row in rows:
        assert row["language"] == "mixed"
        assert row["code_switched"] is True
        first_part, second_part = row["parts"]
        assert row["text"] == f"{first_part['text']} {second_part['text']}"
        assert [first_part["language"], second_part["language"]] in (["uz", "ru"], ["ru", "uz"])
        assert len(row["word_languages"]) == len(row["text"].split())
        assert set(row["word_languages"]) == {"uz", "ru"}
        # The audio lasts the two parts and the pause.
        samples = decode_to_array(tmp_path / row["audio"])
        assert abs(len(samples) / 16000 - row["duration_s"]) < 0.01
        assert row["parts"][1]["start"] - row["parts"][0]["end"] == 0.5
    assert first["word_languages"][0] == "uz"
    assert first["word_languages"][-1] == "ru"
    assert second["word_languages"][0] == "ru"

    on_disk = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert on_disk == rows
    manifest = read_manifest(tmp_path / "manifest.jsonl")
    assert manifest.skipped == []
    assert all(row.is_code_switched for row in manifest.rows)


def test_the_script_writes_the_set_where_it_is_told(tmp_path, capsys):
    out = tmp_path / "set"
    argv = ["--speech", str(SPEECH), "--out", str(out), "--pairs", "1", "--gap", "0.2"]

    assert load_builder().main(argv) == 0

    [row] = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert (out / row["audio"]).is_file()
    assert row["parts"][1]["start"] - row["parts"][0]["end"] == pytest.approx(0.2)
    assert f"1 code-switched clips ({row['duration_s']:.1f} s)" in capsys.readouterr().out


def test_the_script_needs_clips_of_both_languages(tmp_path):
    speech = tmp_path / "speech"
    speech.mkdir()
    lines = (SPEECH / "manifest.jsonl").read_text().splitlines()
    uzbek_only = [line for line in lines if json.loads(line)["language"] == "uz"]
    (speech / "manifest.jsonl").write_text("\n".join(uzbek_only) + "\n")

    with pytest.raises(SystemExit, match="needs both Uzbek and Russian clips"):
        load_builder().main(["--speech", str(speech), "--out", str(tmp_path / "set")])

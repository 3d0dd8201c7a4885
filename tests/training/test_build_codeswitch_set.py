"""The code-switched set builder joins real Uzbek and Russian clips."""

from __future__ import annotations

import importlib.util
import json
import sys

from tests.conftest import ROOT, SPEECH
from training.manifests import read_manifest
from uzwhisper.lib.audio import decode_to_array


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
    rows = load_builder().build(speech_dir=SPEECH, out_dir=tmp_path, pairs=2, gap_s=0.5)

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

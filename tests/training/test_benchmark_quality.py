"""The quality benchmark writes its page and JSON from a real run (here on tiny sets)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from types import SimpleNamespace

import pytest

from tests.support import CLIPS, ROOT
from training.benchmarks import Evaluated
from training.codeswitch_eval import hypothesis_words, reference_tag_agreement
from uzwhisper.lib.metrics import normalise

pytestmark = pytest.mark.django_db

UZ = CLIPS["usc_1131474547_2_29208_1"]
RU = CLIPS["vm-sorry"]
NUMBER = r"\d+(\.\d+)?"
PERCENT = r"\d+\.\d%"


def load_script():
    """The script as a module (scripts/ is not a package)."""
    name = "benchmark_quality"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_speech(tmp_path):
    """A speech folder with one Uzbek and one Russian clip of the bundled test data."""
    speech = tmp_path / "speech"
    speech.mkdir()
    rows = [
        {"audio": os.path.relpath(clip.path, speech), "text": clip.text, "language": clip.language}
        for clip in (UZ, RU)
    ]
    (speech / "manifest.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return speech


def _words(text: str, language: str) -> int:
    return len(normalise(text, language).split())


@pytest.mark.slow
def test_benchmark_writes_the_page_and_json_from_its_own_run(tiny_speech, tmp_path):
    out = tmp_path / "docs"
    argv = ["--speech", str(tiny_speech), "--out", str(out), "--pairs", "1", "--limit", "1"]
    assert load_script().main([*argv, "--work", str(tmp_path / "work")]) == 0

    page = (out / "benchmarks.md").read_text(encoding="utf-8")
    figures = json.loads((out / "benchmarks.json").read_text(encoding="utf-8"))

    mixed_label = "mixed"
    assert figures["machine"]["cpu_count"] == os.cpu_count()
    assert figures["model"]["id"].startswith("whisper-base@")
    assert figures["beam_size"] == 1
    assert figures["seed"] == 0
    assert "the sampler is seeded (0) before the first run" in page
    assert f"{os.cpu_count()} cores" in page
    assert f"`{figures['model']['id']}`" in page

    # The WER table: uz and ru forced, the code-switched clip with auto and with mixed.
    table = figures["wer_table"]
    assert [(r["slice"], r["decoding"]) for r in table] == [
        ("uz", "forced uz"),
        ("ru", "forced ru"),
        ("code-switched", "auto"),
        ("code-switched", mixed_label),
    ]
    joined_words = _words(UZ.text, "uz") + _words(RU.text, "ru")
    assert [r["ref_words"] for r in table] == [
        _words(UZ.text, "uz"),
        _words(RU.text, "ru"),
        joined_words,
        joined_words,
    ]
    assert all(r["utterances"] == 1 for r in table)
    assert all(isinstance(r["wer"], float) and isinstance(r["cer"], float) for r in table)
    assert (
        "| slice | decoding | clips | audio | ref words | word errors (S/D/I) | WER | CER |" in page
    )
    for row in table:
        cells = (
            rf"\| {re.escape(row['slice'])} \| {re.escape(row['decoding'])} \| 1 \| {NUMBER} s "
            rf"\| {row['ref_words']} \| {row['word_errors']} \({NUMBER}/{NUMBER}/{NUMBER}\) "
            rf"\| {row['wer'] * 100:.1f}% \| {row['cer'] * 100:.1f}% \|"
        )
        assert re.search(cells, page), cells

    # Auto against mixed, side by side.
    assert f"| | auto | {mixed_label} |" in page
    auto, mixed_run = figures["runs"]["codeswitch_auto"], figures["runs"]["codeswitch_mixed"]
    assert f"| WER | {auto['wer'] * 100:.1f}% | {mixed_run['wer'] * 100:.1f}% |" in page
    assert re.search(
        rf"\| Uzbek reference words recognised exactly \| \d+ / \d+ \({PERCENT}\)", page
    )
    assert re.search(rf"\| WER of the Russian parts \(S/D/I\) \| {PERCENT} \(\d+/\d+/\d+\)", page)

    # Word tags: the reference against its known languages, hypotheses aligned to it.
    reference = figures["word_tags"]["reference"]
    assert reference["words_compared"] == len(UZ.text.split()) + len(RU.text.split())
    assert reference["rows_left_out"] == 0
    assert 0.0 <= reference["agreement"] <= 1.0
    assert "| text | words compared | tagged other | agree | agreement | Uzbek words |" in page
    assert re.search(
        rf"^\| reference \| {reference['words_compared']} \| \d+ \| \d+ \| {PERCENT} \|", page, re.M
    )
    for mode in ("auto", "mixed"):
        hypothesis = figures["word_tags"]["hypothesis"][mode]
        assert hypothesis["rows_left_out"] == 0
        parts = hypothesis["by_part"]
        # Tokens are normalised word by word exactly as the scorer normalises the whole text,
        # and the parts' edits add up to the clip's.
        run = figures["runs"][f"codeswitch_{mode}"]
        [overall] = [s for s in run["slices"] if s["dimension"] == "overall"]
        for kind in ("ref_words", "substitutions", "deletions"):
            assert parts["uz"][kind] + parts["ru"][kind] == overall[kind], kind
        inserted = parts["uz"]["insertions"] + parts["ru"]["insertions"]
        assert inserted + hypothesis["insertions_at_switch"] == overall["insertions"]
        tags = hypothesis["tags"]
        assert tags["words_compared"] <= joined_words
        assert tags["agree"] + tags["tagged_other"] <= tags["words_compared"]
        assert re.search(
            rf"^\| hypothesis, {re.escape(mode)}[^|]* \| \d+ \| \d+ \| \d+ \|", page, re.M
        )

    # Run times, and what the numbers mean.
    assert "| run | decoding | clips | audio | decode time | real-time factor | wall time |" in page
    for run in figures["runs"].values():
        assert run["wall_seconds"] >= run["decode_seconds"] > 0
        assert run["audio_seconds"] > 0
    assert re.search(rf"^\| monolingual \| each clip's language \| 2 \| {NUMBER} s \|", page, re.M)
    assert "## What the numbers mean" in page
    assert "fine-tuning loop" in page


def test_hypothesis_edits_are_split_by_the_part_they_fall_in():
    row = SimpleNamespace(text="salom dunyo привет мир", word_languages=["uz", "uz", "ru", "ru"])
    item = {"index": 0, "hypothesis": "salom xxx dunyo yyy привет мир zzz"}
    evaluated = Evaluated({"items": [item]}, {0: row}, wall_seconds=0.0)

    figures, left_out = hypothesis_words(evaluated.result["items"], evaluated.rows)

    parts = figures.as_dict()["by_part"]
    assert left_out == 0
    assert {k: parts["uz"][k] for k in ("ref_words", "hits", "insertions")} == {
        "ref_words": 2,
        "hits": 2,
        "insertions": 1,  # xxx, between two Uzbek words
    }
    assert {k: parts["ru"][k] for k in ("ref_words", "hits", "insertions")} == {
        "ref_words": 2,
        "hits": 2,
        "insertions": 1,  # zzz, after the last Russian word
    }
    assert figures.insertions_at_switch == 1  # yyy, between dunyo and привет
    assert figures.tags.compared == 4  # the four aligned words; insertions have no reference


def test_rows_whose_word_languages_do_not_fit_are_left_out():
    row = SimpleNamespace(text="salom dunyo", word_languages=["uz"])
    evaluated = Evaluated({"items": [{"index": 0, "hypothesis": "salom"}]}, {0: row}, 0.0)

    assert hypothesis_words(evaluated.result["items"], evaluated.rows)[1] == 1
    assert reference_tag_agreement([row])[1] == 1

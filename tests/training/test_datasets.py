"""The one dataset exporter, without Django: splits, Common Voice TSVs, JSONL manifests."""

from __future__ import annotations

import csv
import json

from training.datasets import (
    TSV_COLUMNS,
    DatasetClip,
    export_dataset,
    speaker_splits,
)
from uzwhisper.lib.manifests import read_manifest


def clips_by(speakers: dict[str, int], *, status: str = "validated") -> list[DatasetClip]:
    return [
        DatasetClip(
            clip_id=f"{speaker}-{n}",
            speaker=speaker,
            sentence="ammo boshqa bir sabab bilan",  # every speaker reads the same sentence
            language="uz",
            status=status,
            up_votes=2,
        )
        for speaker, count in speakers.items()
        for n in range(count)
    ]


def test_no_speaker_is_in_two_splits_and_sizes_follow_the_fractions():
    speakers = {f"s{i:02d}": 1 + i % 4 for i in range(40)}  # 100 clips, 40 speakers
    clips = clips_by(speakers)
    splits = speaker_splits(clips, seed=0)
    assert set(splits) == set(speakers)
    sizes = {
        name: sum(speakers[s] for s, split in splits.items() if split == name)
        for name in ("train", "dev", "test")
    }
    assert sizes == {"train": 80, "dev": 10, "test": 10}
    assert speaker_splits(clips, seed=0) == splits  # deterministic
    assert speaker_splits(clips, seed=1) != splits


def test_the_export_writes_common_voice_tsvs_and_manifests_evaluate_reads(tmp_path):
    validated = clips_by({f"v{i}": 2 for i in range(10)})
    mixed = DatasetClip(
        "m-1",
        "v0",
        "Men Toshkentda ishlayman, но живу в Самарканде",
        "mixed",
        "validated",
        3,
        0,
        age="twenties",
        gender="female",
        dialect="fergana",
        source="telegram",
    )
    rejected = clips_by({"x": 1}, status="invalidated")
    waiting = clips_by({"y": 1}, status="pending")
    written = []

    def write_wav(clip, path):
        written.append(clip.clip_id)
        path.write_bytes(b"RIFF")

    summary = export_dataset(
        [*validated, mixed, *rejected, *waiting], out_dir=tmp_path, write_wav=write_wav
    )

    assert summary.counts["validated"] == 21  # repeat readings of one sentence are all kept
    assert (summary.counts["invalidated"], summary.counts["other"]) == (1, 1)
    assert summary.counts["train"] + summary.counts["dev"] + summary.counts["test"] == 21
    assert len(written) == 23

    with (tmp_path / "validated.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert tuple(rows[0]) == TSV_COLUMNS
    mixed_row = next(r for r in rows if r["path"] == "clips/m-1.wav")
    assert mixed_row == {
        "client_id": "v0",
        "path": "clips/m-1.wav",
        "sentence": "Men Toshkentda ishlayman, но живу в Самарканде",
        "up_votes": "3",
        "down_votes": "0",
        "age": "twenties",
        "gender": "female",
        "accents": "fergana",
        "variant": "code-switched",
        "locale": "uz",
    }

    speakers_by_split = {}
    for split in ("train", "dev", "test"):
        manifest = read_manifest(tmp_path / f"{split}.jsonl")
        assert not manifest.skipped
        speakers_by_split[split] = {row.speaker for row in manifest.rows}
        for row in manifest.rows:
            assert row.audio_path.exists()
    assert not speakers_by_split["train"] & speakers_by_split["dev"]
    assert not speakers_by_split["train"] & speakers_by_split["test"]
    assert not speakers_by_split["dev"] & speakers_by_split["test"]
    lines = [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (tmp_path / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    [mixed_line] = [line for line in lines if line["audio"] == "clips/m-1.wav"]
    assert (mixed_line["language"], mixed_line["code_switched"], mixed_line["dialect"]) == (
        "mixed",
        True,
        "fergana",
    )

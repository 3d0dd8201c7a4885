"""manage.py export_dataset over collected clips in the database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from collection.models import Clip
from tests.factories import ClipFactory, VolunteerFactory
from uzwhisper.lib.audio import inspect_audio
from uzwhisper.lib.manifests import read_manifest

pytestmark = pytest.mark.django_db


def test_validated_clips_become_a_dataset_with_pseudonymous_disjoint_speakers(tmp_path):
    speakers = VolunteerFactory.create_batch(10)
    for speaker in speakers:
        ClipFactory.create_batch(2, volunteer=speaker, status="validated", up_votes=2)
    ClipFactory(status="invalidated", down_votes=2)
    ClipFactory()  # pending

    call_command("export_dataset", "--out", str(tmp_path), stdout=io.StringIO())

    with (tmp_path / "validated.tsv").open(encoding="utf-8") as handle:
        validated = list(csv.DictReader(handle, delimiter="\t"))
    assert len(validated) == 20
    pseudonyms = {s.pseudonym.hex for s in speakers}
    assert {row["client_id"] for row in validated} == pseudonyms
    for speaker in speakers:  # no account name or id leaks into the export
        assert speaker.user.username not in (tmp_path / "validated.tsv").read_text()
    split_speakers = []
    for split in ("train", "dev", "test"):
        manifest = read_manifest(tmp_path / f"{split}.jsonl")
        assert not manifest.skipped
        split_speakers.append({row.speaker for row in manifest.rows})
        for row in manifest.rows:
            info = inspect_audio(row.audio_path, max_seconds=60)
            assert info.sample_rate == 16000
            assert row.dialect == "tashkent"
    assert sum(len(s) for s in split_speakers) == 10  # each speaker in exactly one split
    assert set().union(*split_speakers) == pseudonyms


def test_since_exports_only_later_clips_and_nothing_is_a_clear_error(tmp_path):
    old = ClipFactory(status="validated", up_votes=2)
    Clip.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=10))
    ClipFactory(status="validated", up_votes=2)
    since = (timezone.now() - timedelta(days=2)).date()
    out = io.StringIO()
    call_command(
        "export_dataset", "--out", str(tmp_path / "delta"), "--since", since.isoformat(), stdout=out
    )
    assert "validated 1" in out.getvalue()
    assert len((tmp_path / "delta" / "validated.tsv").read_text().splitlines()) == 2
    today = timezone.now().date().isoformat()
    with pytest.raises(CommandError, match="No clips to export after"):
        call_command("export_dataset", "--out", str(tmp_path / "none"), "--since", today)

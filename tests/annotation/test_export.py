"""Approved annotations through the one exporter: `manage.py export_dataset --source
annotation`."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from annotation.services import annotation_submit, review_decide, task_next_for_annotator
from tests.factories import TaskFactory, annotator_user, reviewer_user
from uzwhisper.lib.audio import inspect_audio
from uzwhisper.lib.manifests import read_manifest

pytestmark = pytest.mark.django_db


def approved(task, segments, *, dialect=""):
    user = annotator_user()
    draft = task_next_for_annotator(user=user)
    assert draft.task_id == task.id
    annotation_submit(
        user=user, annotation_id=draft.id, version=1, segments=segments, dialect=dialect
    )
    review_decide(reviewer=reviewer_user(), annotation_id=draft.id, decision="approve")


def test_approved_segments_are_exported_with_their_audio_cut_and_nothing_else(tmp_path):
    first = TaskFactory()
    approved(
        first,
        [
            {"start": 0.5, "end": 2.5, "text": "Подключение к серверу"},
            {"start": 3.0, "end": 4.0, "text": "", "untranscribable": True},
            {"start": 4.0, "end": 7.25, "text": "salom через консоли", "speaker": "B"},
        ],
        dialect="fergana",
    )
    TaskFactory()  # open: not exported
    out = tmp_path / "out"
    call_command(
        "export_dataset", "--source", "annotation", "--out", str(out), stdout=io.StringIO()
    )

    with (out / "validated.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["sentence"] for r in rows] == ["Подключение к серверу", "salom через консоли"]
    assert [r["locale"] for r in rows] == ["ru", "uz"]
    assert rows[1]["variant"] == "code-switched"
    assert {r["accents"] for r in rows} == {"fergana"}
    assert {r["client_id"] for r in rows} == {first.speaker_key}  # one recording, one split
    durations = []
    splits = [out / f"{split}.jsonl" for split in ("train", "dev", "test")]
    filled = [path for path in splits if path.read_text(encoding="utf-8").strip()]
    assert len(filled) == 1  # one recording's rows never span two splits
    for path in filled:
        for row in read_manifest(path).rows:
            info = inspect_audio(row.audio_path, max_seconds=60)
            assert info.sample_rate == 16000
            durations.append(round(info.duration_s, 2))
    assert sorted(durations) == [2.0, 3.25]


def test_nothing_approved_is_a_clear_error(tmp_path):
    TaskFactory()
    with pytest.raises(CommandError, match="No clips to export"):
        call_command("export_dataset", "--source", "annotation", "--out", str(tmp_path))

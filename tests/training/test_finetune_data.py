"""A fine-tune run's data from each source (training.finetune.data): exports of validated
collection clips and approved annotations (the one exporter, into the run's folder), uploads
(extracted safely), and `manage.py train --data` refusals. Nothing here trains."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from tests.factories import ClipFactory, TaskFactory, VolunteerFactory
from tests.support import CLIPS, EVAL_STEMS, TRAIN_STEMS, write_manifest
from training.finetune import services
from training.finetune.data import DataChoice
from training.management.commands import train as train_command
from training.models import FineTuneRun
from transcription.services import registry
from uzwhisper.errors import ApplicationError
from uzwhisper.lib.audio import decode_range, inspect_audio, write_audio
from uzwhisper.lib.manifests import read_manifest

from ..annotation.test_export import approved

pytestmark = pytest.mark.django_db


def create(**fields) -> FineTuneRun:
    return services.finetune_run_create(
        name=fields.pop("name", "data-run"),
        base_version=registry.model_version_bundled(),
        init=FineTuneRun.Init.TINY_RANDOM,
        enqueue=False,
        **fields,
    )


def distinct_speech(tmp_path: Path, count: int) -> list[Path]:
    """`count` different stretches of one real Uzbek recording: the run's overlap check would
    (rightly) refuse clips that share audio, and the factories share one file."""
    long_clip = CLIPS["uzbekvoice_sample_uzbek_2"].path  # 17.9 s
    paths = []
    for number in range(count):
        path = tmp_path / "speech" / f"take-{number}.wav"
        path.parent.mkdir(exist_ok=True)
        write_audio(decode_range(long_clip, start_s=number * 1.2, end_s=number * 1.2 + 1.5), path)
        paths.append(path)
    return paths


def validated_clips(tmp_path: Path, speakers: int) -> list:
    return [
        ClipFactory(volunteer=VolunteerFactory(), status="validated", up_votes=2, audio_path=path)
        for path in distinct_speech(tmp_path, speakers)
    ]


def approved_tasks(count: int) -> list:
    """`count` recordings (speakers), each approved with one segment of different audio."""
    tasks = []
    for number in range(count):
        task = TaskFactory()
        start = number * 0.7
        segment = {"start": start, "end": start + 2.0, "text": "Подключение к серверу"}
        approved(task, [segment])
        tasks.append(task)
    return tasks


def runs_dir_listing() -> set[str]:
    """What TRAIN_RUNS_DIR holds (its `uploads` folder itself aside: made once, kept)."""
    root = Path(settings.TRAIN_RUNS_DIR)
    return {str(p.relative_to(root)) for p in root.rglob("*")} - {"uploads"}


def eval_manifest(tmp_path) -> DataChoice:
    return DataChoice("manifest", manifest=str(write_manifest(tmp_path / "eval.jsonl", EVAL_STEMS)))


def test_collection_data_is_exported_into_the_run_and_evaluated_on_its_dev_split(tmp_path):
    clips = validated_clips(tmp_path, 10)
    ClipFactory(status="invalidated", down_votes=2)
    ClipFactory()  # pending

    run = create(data=DataChoice("collection"))

    export = Path(settings.TRAIN_RUNS_DIR) / str(run.id) / "data" / "export"
    assert Path(run.train_manifest) == export / "train.jsonl"
    assert Path(run.eval_manifest) == export / "dev.jsonl"
    source = run.data_summary["source"]
    assert source["train"]["source"] == "collection"
    assert source["train"]["export"]["counts"] == {"train": 8, "dev": 1, "test": 1}
    assert source["eval"] == {"source": "dev", "split_of": "train"}
    assert run.data_summary["train"]["rows"] == 8
    assert run.data_summary["eval"]["rows"] == 1
    assert run.overlap == {"audio": [], "speakers": []}  # speaker-disjoint by construction
    speakers = {}
    for split in ("train", "dev", "test"):
        manifest = read_manifest(export / f"{split}.jsonl")
        speakers[split] = {row.speaker for row in manifest.rows}
        for row in manifest.rows:
            assert inspect_audio(row.audio_path, max_seconds=60).sample_rate == 16000
    assert set().union(*speakers.values()) == {c.volunteer.pseudonym.hex for c in clips}
    assert sum(len(s) for s in speakers.values()) == 10
    # Only validated clips' audio is materialised for a run.
    assert len(list((export / "clips").iterdir())) == 10


def test_annotation_data_is_exported_with_a_chosen_evaluation_manifest(tmp_path):
    tasks = approved_tasks(3)
    run = create(data=DataChoice("annotation"), evaluation=eval_manifest(tmp_path))

    rows = read_manifest(Path(run.train_manifest)).rows
    assert [row.text for row in rows] == ["Подключение к серверу"] * 3
    assert {row.speaker for row in rows} == {t.speaker_key for t in tasks}
    assert {row.source for row in rows} == {"annotation-manifest"}
    assert [round(inspect_audio(r.audio_path, max_seconds=60).duration_s, 2) for r in rows] == [
        2.0
    ] * 3
    assert run.data_summary["source"]["train"]["source"] == "annotation"
    assert run.data_summary["source"]["eval"]["source"] == "manifest"
    assert run.eval_manifest == str((tmp_path / "eval.jsonl").resolve())


def test_three_speakers_leave_the_dev_split_empty_and_the_refusal_says_so():
    approved_tasks(3)
    before = runs_dir_listing()
    with pytest.raises(ApplicationError) as refused:
        create(data=DataChoice("annotation"))
    assert refused.value.code == "evaluation_split_empty"
    assert "3 speaker(s)" in refused.value.message
    assert runs_dir_listing() == before  # the export of a refused run is removed
    assert not FineTuneRun.objects.exists()


def test_both_sources_go_into_one_speaker_disjoint_export(tmp_path):
    clips = validated_clips(tmp_path, 8)
    tasks = approved_tasks(2)
    run = create(data=DataChoice("both"))

    export = Path(run.train_manifest).parent
    by_split = {s: read_manifest(export / f"{s}.jsonl").rows for s in ("train", "dev", "test")}
    rows = [row for split in by_split.values() for row in split]
    assert len(rows) == 10
    assert {row.source for row in rows} == {"web", "annotation-manifest"}
    assert {row.speaker for row in rows} == {c.volunteer.pseudonym.hex for c in clips} | {
        t.speaker_key for t in tasks
    }
    split_speakers = [{row.speaker for row in split} for split in by_split.values()]
    assert sum(len(s) for s in split_speakers) == 10  # no speaker in two splits
    assert run.data_summary["source"]["train"]["export"]["speakers"] == 10


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("collection", "No validated collection clips yet"),
        ("annotation", "No approved annotations yet"),
        ("both", "No validated collection clips and no approved annotations yet"),
    ],
)
def test_an_empty_export_is_a_clear_refusal(source, message):
    ClipFactory()  # pending: not training data
    ClipFactory(status="invalidated")
    TaskFactory()  # open: not training data
    before = runs_dir_listing()
    with pytest.raises(ApplicationError, match=message) as refused:
        create(data=DataChoice(source))
    assert refused.value.code == "no_validated_clips"
    assert runs_dir_listing() == before


# --- uploads --------------------------------------------------------------------------------


def zip_of(entries: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("data.zip", buffer.getvalue(), content_type="application/zip")


def manifest_bytes(stems: list[str], *, prefix: str = "audio/") -> bytes:
    lines = [
        json.dumps(
            {
                "audio": f"{prefix}{stem}.wav",
                "text": CLIPS[stem].text,
                "language": CLIPS[stem].language,
                "speaker": f"speaker-{stem}",
            },
            ensure_ascii=False,
        )
        for stem in stems
    ]
    return ("\n".join(lines) + "\n").encode()


def training_zip(**extra: bytes) -> SimpleUploadedFile:
    entries = {f"audio/{stem}.wav": Path(CLIPS[stem].path).read_bytes() for stem in TRAIN_STEMS}
    return zip_of({"manifest.jsonl": manifest_bytes(TRAIN_STEMS), **entries, **extra})


def refusal(upload, tmp_path) -> ApplicationError:
    before = runs_dir_listing()
    with pytest.raises(ApplicationError) as refused:
        create(data=DataChoice("upload", upload=upload), evaluation=eval_manifest(tmp_path))
    assert runs_dir_listing() == before  # nothing of the upload is kept
    assert not FineTuneRun.objects.exists()
    return refused.value


def test_an_uploaded_zip_is_extracted_under_uploads_and_trained_on(tmp_path):
    upload = DataChoice("upload", upload=training_zip())
    run = create(data=upload, evaluation=eval_manifest(tmp_path))

    record = run.data_summary["source"]["train"]
    assert record["source"] == "upload"
    assert record["file"] == "data.zip"
    folder = Path(settings.TRAIN_RUNS_DIR) / "uploads" / record["upload"]
    assert Path(run.train_manifest) == folder / "manifest.jsonl"
    assert run.data_summary["train"]["rows"] == len(TRAIN_STEMS)
    for stem in TRAIN_STEMS:
        assert (folder / "audio" / f"{stem}.wav").read_bytes() == Path(
            CLIPS[stem].path
        ).read_bytes()


def test_a_lone_jsonl_upload_reads_audio_on_the_server(tmp_path):
    manifest = write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS)  # absolute audio paths
    upload = SimpleUploadedFile("train.jsonl", manifest.read_bytes())
    run = create(data=DataChoice("upload", upload=upload), evaluation=eval_manifest(tmp_path))
    assert run.data_summary["train"]["rows"] == len(TRAIN_STEMS)
    assert Path(run.train_manifest).name == "manifest.jsonl"


@pytest.mark.parametrize("name", ["../evil.wav", "{tmp}/evil.wav", "audio/../../evil.wav"])
def test_zip_slip_is_refused(tmp_path, name):
    name = name.format(tmp=tmp_path)  # an absolute path
    error = refusal(training_zip(**{name: b"RIFF"}), tmp_path)
    assert error.code == "upload_unsafe_path"
    assert "outside" in error.message
    assert not (Path(settings.TRAIN_RUNS_DIR) / "evil.wav").exists()
    assert not (Path(settings.TRAIN_RUNS_DIR) / "uploads" / "evil.wav").exists()
    assert not (tmp_path / "evil.wav").exists()


def test_a_manifest_naming_audio_outside_the_archive_is_refused(tmp_path):
    upload = zip_of({"manifest.jsonl": manifest_bytes(TRAIN_STEMS, prefix="../../")})
    error = refusal(upload, tmp_path)
    assert error.code == "upload_unsafe_path"
    assert "manifest.jsonl:1" in error.message


def test_an_oversize_upload_is_refused(tmp_path, settings):
    upload = training_zip()
    settings.TRAIN_UPLOAD_MAX_BYTES = upload.size - 1
    error = refusal(upload, tmp_path)
    assert error.code == "upload_too_large"
    assert "TRAIN_UPLOAD_MAX_BYTES" in error.message


def test_an_archive_that_extracts_over_the_limit_is_refused(tmp_path, settings):
    upload = zip_of({"manifest.jsonl": b"", "big.wav": bytes(10_000_000)})  # compresses to ~10 kB
    settings.TRAIN_UPLOAD_MAX_BYTES = 1_000_000
    assert upload.size < settings.TRAIN_UPLOAD_MAX_BYTES
    error = refusal(upload, tmp_path)
    assert error.code == "upload_too_large"
    assert "extracts to" in error.message


@pytest.mark.parametrize(
    ("upload", "code", "message"),
    [
        (lambda: zip_of({"audio/a.wav": b"RIFF"}), "upload_manifest_missing", "exactly one"),
        (lambda: training_zip(**{"run.py": b"import os"}), "upload_not_audio", "'run.py'"),
        (lambda: SimpleUploadedFile("data.bin", b"\x00" * 64), "upload_not_zip", "ZIP"),
    ],
)
def test_malformed_uploads_are_refused_with_their_reason(tmp_path, upload, code, message):
    error = refusal(upload(), tmp_path)
    assert error.code == code
    assert message in error.message


def test_bad_manifest_lines_in_an_upload_are_reported_by_line(tmp_path):
    good = manifest_bytes(TRAIN_STEMS[:1])
    for body, reason in [
        (good + b"{not json\n", "line 2"),
        (good + b'{"audio": "audio/x.wav", "language": "uz"}\n', "line 2: no 'text' field"),
    ]:
        error = refusal(training_zip(**{"manifest.jsonl": body}), tmp_path)
        assert error.code == "manifest_invalid"
        assert reason in error.message


def test_an_export_split_as_evaluation_needs_an_exported_source(tmp_path):
    manifest = write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS)
    with pytest.raises(ApplicationError) as refused:
        create(data=DataChoice("manifest", manifest=str(manifest)), evaluation=DataChoice("dev"))
    assert refused.value.code == "evaluation_needs_export"


# --- manage.py train --data -----------------------------------------------------------------


def test_train_command_refuses_collection_data_without_validated_clips():
    ClipFactory()  # pending
    with pytest.raises(CommandError, match=r"No validated collection clips yet.*no_valid"):
        call_command("train", "--name=cli", "--data=collection", "--init=tiny-random")
    assert not FineTuneRun.objects.exists()


def test_train_command_refusals_for_its_data_arguments(tmp_path):
    manifest = write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS)
    with pytest.raises(CommandError, match="evaluation_needs_export"):
        call_command("train", "--name=cli", f"--data={manifest}", "--init=tiny-random")
    with pytest.raises(CommandError, match="Cannot open"):
        call_command("train", "--name=cli", f"--data={tmp_path / 'none.zip'}", "--eval=dev")
    validated_clips(tmp_path, 3)  # too few speakers for a dev split
    with pytest.raises(CommandError, match="evaluation_split_empty"):
        call_command("train", "--name=cli", "--data=collection", "--init=tiny-random")


class CancelOnFollow(train_command.Command):
    """`manage.py train` that cancels its queued run instead of waiting for a worker."""

    followed: FineTuneRun | None = None

    def _follow(self, run: FineTuneRun) -> None:
        CancelOnFollow.followed = run
        services.finetune_run_cancel(run_id=run.id)
        super()._follow(run)


def test_train_command_queues_a_run_from_collection_data(tmp_path):
    validated_clips(tmp_path, 10)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Run cancelled"):
        call_command(
            CancelOnFollow(), "--name=cli", "--data=collection", "--init=tiny-random", stdout=out
        )
    run = CancelOnFollow.followed
    assert run is not None
    assert "status: cancelled" in out.getvalue()
    assert run.data_summary["source"]["train"]["source"] == "collection"
    assert Path(run.train_manifest).name == "train.jsonl"
    assert Path(run.eval_manifest).name == "dev.jsonl"

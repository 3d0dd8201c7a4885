"""A fine-tune run's data: materialise its training and evaluation manifests from the source an
admin chose, into the run's own folder, before the run's checks read them.

Sources of training data: `collection` (validated collection clips), `annotation` (approved
annotations), `both` (one export of the two, so its splits stay speaker-disjoint across them) —
each written by the one exporter (training.datasets) under TRAIN_RUNS_DIR/<run>/data/ — or
`manifest` (a JSONL manifest already on the server) or `upload` (a ZIP holding `manifest.jsonl`
and its audio, or a lone JSONL whose audio paths resolve on the server), kept under
TRAIN_RUNS_DIR/uploads/<id>/. The evaluation set is the export's `dev` (or `test`) split by
default — speaker-disjoint from its `train` split by construction — or a manifest or upload.

Imports nothing heavy: the web process calls it (decoding audio goes through PyAV)."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from rest_framework import status

from uzwhisper.errors import ApplicationError

from ..dataset_sources import source_rows
from ..datasets import export_dataset

EXPORT_SOURCES = {
    "collection": ("collection",),
    "annotation": ("annotation",),
    "both": ("collection", "annotation"),
}
TRAIN_SOURCES = (*EXPORT_SOURCES, "manifest", "upload")
EVAL_SPLITS = ("dev", "test")
EVAL_SOURCES = (*EVAL_SPLITS, "manifest", "upload")

UPLOAD_MANIFEST = "manifest.jsonl"
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm"})
# What archivers add on their own: skipped, not refused.
ARCHIVER_LITTER = ("__MACOSX/", ".DS_Store")
_EMPTY_EXPORT = {
    "collection": "No validated collection clips yet: volunteers' clips become training data "
    "once their votes validate them.",
    "annotation": "No approved annotations yet: a reviewer approves annotations before they "
    "become training data.",
    "both": "No validated collection clips and no approved annotations yet.",
}


@dataclass(frozen=True)
class DataChoice:
    """Where one side of a run's data comes from. `manifest` is a server path (source
    `manifest`); `upload` an open file with a `name` (a Django UploadedFile, or any binary file:
    source `upload`)."""

    source: str
    manifest: str = ""
    upload: IO[bytes] | None = None


@dataclass(frozen=True)
class RunData:
    train_manifest: Path
    eval_manifest: Path
    provenance: dict[str, Any]  # recorded on the run (data_summary["source"])
    made: list[Path]  # folders written here: removed if the run is refused


def data_dir(run_id: uuid.UUID) -> Path:
    return Path(settings.TRAIN_RUNS_DIR) / str(run_id) / "data"


def finetune_data_prepare(
    *, run_id: uuid.UUID, train: DataChoice, evaluation: DataChoice, seed: int = 0
) -> RunData:
    """Both manifests of run `run_id` on disk, and where they came from. Raises
    ApplicationError for an unknown source, an empty export, an evaluation split asked of data
    that is not an export, and a refused upload; writes nothing it does not report in `made`."""
    if train.source not in TRAIN_SOURCES:
        raise ApplicationError(
            "data_source_unknown",
            f"Unknown training data source {train.source!r}: one of {', '.join(TRAIN_SOURCES)}.",
        )
    if evaluation.source not in EVAL_SOURCES:
        raise ApplicationError(
            "evaluation_source_unknown",
            f"Unknown evaluation set {evaluation.source!r}: one of {', '.join(EVAL_SOURCES)}.",
        )
    if evaluation.source in EVAL_SPLITS and train.source not in EXPORT_SOURCES:
        raise ApplicationError(
            "evaluation_needs_export",
            f"The evaluation set {evaluation.source!r} is a split of an export: pick collection, "
            "annotation or both as training data, or give an evaluation manifest or upload.",
        )
    made: list[Path] = []
    try:
        train_manifest, train_record = _materialise(train, run_id=run_id, made=made, seed=seed)
        if evaluation.source in EVAL_SPLITS:
            eval_manifest = train_manifest.with_name(f"{evaluation.source}.jsonl")
            if not eval_manifest.read_text(encoding="utf-8").strip():
                raise ApplicationError(
                    "evaluation_split_empty",
                    f"The export's {evaluation.source} split is empty: "
                    f"{train_record['export']['speakers']} speaker(s) are too few to split "
                    "three ways. Give an evaluation manifest or upload instead.",
                )
            eval_record: dict[str, Any] = {"source": evaluation.source, "split_of": "train"}
        else:
            eval_manifest, eval_record = _materialise(
                evaluation, run_id=run_id, made=made, seed=seed
            )
    except BaseException:
        discard(made)
        raise
    return RunData(
        train_manifest=train_manifest,
        eval_manifest=eval_manifest,
        provenance={"train": train_record, "eval": eval_record},
        made=made,
    )


def discard(made: list[Path]) -> None:
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def _materialise(
    choice: DataChoice, *, run_id: uuid.UUID, made: list[Path], seed: int
) -> tuple[Path, dict[str, Any]]:
    if choice.source in EXPORT_SOURCES:
        return _export(choice.source, run_id=run_id, made=made, seed=seed)
    if choice.source == "manifest":
        if not choice.manifest:
            raise ApplicationError("manifest_required", "Give the manifest's path on the server.")
        return Path(choice.manifest), {"source": "manifest", "manifest": choice.manifest}
    if choice.upload is None:
        raise ApplicationError("upload_required", "Choose a ZIP or JSONL file to upload.")
    upload_id = uuid.uuid4()
    folder = Path(settings.TRAIN_RUNS_DIR) / "uploads" / str(upload_id)
    made.append(folder)
    manifest = upload_extract(upload=choice.upload, folder=folder)
    name = PurePosixPath(getattr(choice.upload, "name", "") or "upload").name
    return manifest, {"source": "upload", "upload": str(upload_id), "file": name}


def _export(
    source: str, *, run_id: uuid.UUID, made: list[Path], seed: int
) -> tuple[Path, dict[str, Any]]:
    rows, write_wav = source_rows(EXPORT_SOURCES[source])
    validated = [row for row in rows if row.status == "validated"]
    if not validated:
        raise ApplicationError("no_validated_clips", _EMPTY_EXPORT[source])
    out = data_dir(run_id) / "export"
    made.append(data_dir(run_id).parent)  # the run's folder: a refused run leaves none
    # Only the validated rows: the run needs no audio of refused or pending clips.
    summary = export_dataset(validated, out_dir=out, write_wav=write_wav, seed=seed)
    record = {
        "source": source,
        "export": {
            "dir": str(out),
            "seed": seed,
            "counts": {split: summary.counts[split] for split in ("train", "dev", "test")},
            "speakers": len({row.speaker for row in validated}),
        },
    }
    return out / "train.jsonl", record


# --- uploads --------------------------------------------------------------------------------


def _refuse(code: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, status_code=status.HTTP_400_BAD_REQUEST)


def _size(upload: IO[bytes]) -> int | None:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    try:
        position = upload.tell()
        upload.seek(0, 2)
        end = upload.tell()
        upload.seek(position)
    except (AttributeError, OSError):
        return None
    return end - position


def _mib(n: int) -> str:
    return f"{n / 1024**2:.0f} MiB"


def upload_extract(*, upload: IO[bytes], folder: Path) -> Path:
    """The uploaded manifest saved (a lone JSONL) or its ZIP extracted into `folder`, safely:
    no entry outside the folder (absolute names, `..`, links), nothing but audio and the one
    `manifest.jsonl`, no more than TRAIN_UPLOAD_MAX_BYTES compressed or extracted. Returns the
    manifest's path. Its rows are checked afterwards like any manifest's."""
    limit = settings.TRAIN_UPLOAD_MAX_BYTES
    size = _size(upload)
    if size is not None and size > limit:
        raise _refuse(
            "upload_too_large",
            f"The upload is {_mib(size)}; the limit is {_mib(limit)} (TRAIN_UPLOAD_MAX_BYTES).",
        )
    name = PurePosixPath(getattr(upload, "name", "") or "").name.lower()
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(upload, "seek"):
        upload.seek(0)
    if name.endswith((".jsonl", ".json")):
        manifest = folder / UPLOAD_MANIFEST
        _copy_limited(upload, manifest, limit=limit, what="The manifest")
        return manifest
    if not zipfile.is_zipfile(upload):
        raise _refuse(
            "upload_not_zip",
            "Upload a ZIP (manifest.jsonl and its audio) or a JSONL manifest.",
        )
    upload.seek(0)
    with zipfile.ZipFile(upload) as archive:
        members = _members(archive, limit=limit)
        manifests = [m for m in members if PurePosixPath(m.filename).name == UPLOAD_MANIFEST]
        if len(manifests) != 1:
            raise _refuse(
                "upload_manifest_missing" if not manifests else "upload_manifest_ambiguous",
                f"The ZIP holds {len(manifests)} {UPLOAD_MANIFEST}; it needs exactly one, with "
                "audio paths relative to it.",
            )
        written = 0
        for member in members:
            target = folder / member.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source:
                written += _copy_limited(
                    source, target, limit=limit - written, what="The extracted archive"
                )
    manifest = folder / manifests[0].filename
    _check_audio_inside(manifest, folder)
    return manifest


def _members(archive: zipfile.ZipFile, *, limit: int) -> list[zipfile.ZipInfo]:
    members = []
    declared = 0
    for member in archive.infolist():
        name = member.filename
        if member.is_dir() or any(litter in name for litter in ARCHIVER_LITTER):
            continue
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
            raise _refuse(
                "upload_unsafe_path",
                f"The ZIP entry {name!r} points outside the archive's folder.",
            )
        if stat.S_ISLNK(member.external_attr >> 16):
            raise _refuse("upload_unsafe_path", f"The ZIP entry {name!r} is a link.")
        if path.name != UPLOAD_MANIFEST and path.suffix.lower() not in AUDIO_SUFFIXES:
            raise _refuse(
                "upload_not_audio",
                f"The ZIP entry {name!r} is neither {UPLOAD_MANIFEST} nor audio "
                f"({', '.join(sorted(AUDIO_SUFFIXES))}).",
            )
        declared += member.file_size
        members.append(member)
    if declared > limit:
        raise _refuse(
            "upload_too_large",
            f"The ZIP extracts to {_mib(declared)}; the limit is {_mib(limit)} "
            "(TRAIN_UPLOAD_MAX_BYTES).",
        )
    return members


def _copy_limited(source: IO[bytes], target: Path, *, limit: int, what: str) -> int:
    """Copy, counting: an archive's declared sizes may lie."""
    copied = 0
    with target.open("wb") as handle:
        while block := source.read(1024 * 1024):
            copied += len(block)
            if copied > limit:
                raise _refuse(
                    "upload_too_large",
                    f"{what} is over the limit of {_mib(settings.TRAIN_UPLOAD_MAX_BYTES)} "
                    "(TRAIN_UPLOAD_MAX_BYTES).",
                )
            handle.write(block)
    return copied


def _check_audio_inside(manifest: Path, folder: Path) -> None:
    """An uploaded archive's manifest names only audio it carries."""
    root = folder.resolve()
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        try:
            audio = json.loads(line).get("audio") if line.strip() else None
        except (ValueError, AttributeError):
            continue  # malformed lines are reported by the manifest checks
        if not isinstance(audio, str):
            continue
        resolved = (manifest.parent / audio).resolve()
        if not resolved.is_relative_to(root):
            raise _refuse(
                "upload_unsafe_path",
                f"{UPLOAD_MANIFEST}:{number}: the audio {audio!r} is outside the archive.",
            )

"""Writes for annotation: making tasks (from finished jobs, validated clips, a manifest), their
waveform peaks, handing out and locking tasks, saving drafts against a version, submitting,
and reviewing.

Concurrency: every change to a task's annotations runs with the task's row locked
(SELECT ... FOR UPDATE), so two annotators asking at once cannot both take the last place of a
task, and a save cannot race the hand-over of a lapsed lock."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from rest_framework import status

from collection.models import Clip, Dialect
from collection.selectors import clips_validated
from transcription.models import Job
from transcription.selectors import job_segments, jobs_done
from uzwhisper.errors import ApplicationError
from uzwhisper.lib.audio import AudioError, inspect_audio
from uzwhisper.lib.manifests import MANIFEST_LANGUAGES, ManifestError, read_manifest
from uzwhisper.lib.peaks import compute_peaks
from uzwhisper.storage import local_audio_path

from .models import Annotation, Review, Task
from .roles import ANNOTATOR, REVIEWER, require_role
from .segments import clean_segments
from .selectors import agreement, edit_rate

logger = logging.getLogger(__name__)

# Editing time between two saves counts up to this much (a break is not work).
IDLE_CAP_SECONDS = 300


def _conflict(code: str, message: str, **details: Any) -> ApplicationError:
    return ApplicationError(code, message, status_code=status.HTTP_409_CONFLICT, details=details)


def _speaker_key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def _enqueue_peaks(task_id: uuid.UUID) -> None:
    from .tasks import compute_task_peaks

    transaction.on_commit(lambda: compute_task_peaks.delay(str(task_id)))


# --- making tasks -----------------------------------------------------------------------


def _job_machine_segments(job: Job) -> list[dict[str, Any]]:
    segments = []
    for segment in job_segments(job=job):
        words = [
            {"text": w.text.strip(), "language": w.language or "other"}
            for w in segment.words.all()
            if w.text.strip()
        ]
        segments.append(
            {
                "start": segment.start,
                "end": segment.end,
                "text": segment.text.strip(),
                "speaker": "A",
                "untranscribable": segment.untranscribed,
                "words": words,
            }
        )
    # The engine's words may not split exactly as the text does: normalise, tagging again what
    # differs. Not `final`: an untranscribed machine segment may be empty.
    return clean_segments(segments, duration_s=job.duration_s, final=False)


@transaction.atomic
def tasks_create_from_jobs(
    *, job_ids: list[uuid.UUID], created_by: Any, required_annotations: int = 1
) -> list[Task]:
    """A task per finished job among `job_ids`, prefilled with its transcript. Jobs that are
    not done (or do not exist) are refused by name."""
    jobs = list(jobs_done(job_ids=job_ids))
    missing = {str(i) for i in job_ids} - {str(j.id) for j in jobs}
    if missing:
        raise ApplicationError(
            "job_not_done",
            f"Not finished transcription jobs: {', '.join(sorted(missing))}.",
            details={"jobs": sorted(missing)},
        )
    tasks = []
    for job in jobs:
        mode = job.language_requested
        tasks.append(
            _task_create(
                source=Task.Source.JOB,
                job=job,
                audio_name=job.audio.name or "",
                original_name=job.original_name,
                duration_s=job.duration_s,
                language="mixed" if mode == "mixed" else job.language_detected,
                speaker_key=_speaker_key("job", str(job.id)),
                machine_segments=_job_machine_segments(job),
                created_by=created_by,
                required_annotations=required_annotations,
            )
        )
    return tasks


@transaction.atomic
def tasks_create_from_clips(
    *, clip_ids: list[uuid.UUID], created_by: Any, required_annotations: int = 1
) -> list[Task]:
    """A task per validated clip among `clip_ids`, prefilled with its prompt."""
    clips: list[Clip] = list(clips_validated(clip_ids=clip_ids))
    missing = {str(i) for i in clip_ids} - {str(c.id) for c in clips}
    if missing:
        raise ApplicationError(
            "clip_not_validated",
            f"Not validated clips: {', '.join(sorted(missing))}.",
            details={"clips": sorted(missing)},
        )
    tasks = []
    for clip in clips:
        prefill = [{"start": 0.0, "end": clip.duration_s, "text": clip.prompt.text}]
        tasks.append(
            _task_create(
                source=Task.Source.CLIP,
                clip=clip,
                audio_name=clip.audio.name or "",
                original_name=f"clip-{clip.id.hex[:8]}",
                duration_s=clip.duration_s,
                language=clip.prompt.language,
                speaker_key=clip.volunteer.pseudonym.hex,
                machine_segments=clean_segments(prefill, duration_s=clip.duration_s, final=False),
                created_by=created_by,
                required_annotations=required_annotations,
            )
        )
    return tasks


@dataclass
class ManifestImport:
    tasks: list[Task] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "line N: reason"


def tasks_import_manifest(
    *, path: Path, created_by: Any, required_annotations: int = 1
) -> ManifestImport:
    """A task per line of a JSONL manifest (`audio` relative to it, `text`, `language`,
    optional `speaker`); the audio is copied into storage. Bad lines are refused by number,
    the rest imported."""
    result = ManifestImport()
    try:
        manifest = read_manifest(path, require_text=False)
    except ManifestError as exc:
        result.refused.append(str(exc))
        return result
    result.refused.extend(skipped.message() for skipped in manifest.skipped)
    for row in manifest.rows:
        audio_path, text, language = row.audio_path, row.text, row.language
        try:
            info = inspect_audio(audio_path, max_seconds=settings.MAX_AUDIO_SECONDS)
        except AudioError as exc:
            result.refused.append(f"line {row.line}: {exc.message}")
            continue
        speaker = row.speaker or audio_path.name
        prefill = [{"start": 0.0, "end": info.duration_s, "text": text}] if text.strip() else []
        with transaction.atomic():
            task = _task_create(
                source=Task.Source.MANIFEST,
                audio_file=audio_path,
                original_name=audio_path.name,
                duration_s=info.duration_s,
                language=language,
                speaker_key=_speaker_key("manifest", speaker),
                machine_segments=clean_segments(prefill, duration_s=info.duration_s, final=False),
                created_by=created_by,
                required_annotations=required_annotations,
            )
        result.tasks.append(task)
    return result


def _task_create(
    *,
    source: str,
    original_name: str,
    duration_s: float,
    language: str,
    speaker_key: str,
    machine_segments: list[dict[str, Any]],
    created_by: Any,
    required_annotations: int,
    audio_name: str = "",
    audio_file: Path | None = None,
    job: Job | None = None,
    clip: Clip | None = None,
) -> Task:
    if required_annotations not in (1, 2):
        raise ApplicationError(
            "invalid_input", "A task needs one annotation, or two (blind double annotation)."
        )
    task = Task(
        source=source,
        job=job,
        clip=clip,
        original_name=original_name[:255],
        duration_s=duration_s,
        language=language if language in MANIFEST_LANGUAGES else "",
        speaker_key=speaker_key,
        machine_segments=machine_segments,
        required_annotations=required_annotations,
        created_by=created_by,
        created_at=timezone.now(),
    )
    if audio_file is not None:
        task.audio.save(audio_file.name, ContentFile(audio_file.read_bytes()), save=False)
    else:
        task.audio.name = audio_name
    task.full_clean()
    task.save()
    _enqueue_peaks(task.id)
    return task


# --- peaks ------------------------------------------------------------------------------


def task_compute_peaks(*, task_id: uuid.UUID | str) -> Task | None:
    """Compute and store the task's waveform peaks, once: a task that has them is left alone
    (a second delivery does nothing). A vanished task is logged; unreadable audio is recorded
    in `peaks_error` for the editor to show."""
    task = Task.objects.filter(id=task_id).first()
    if task is None:
        logger.warning("Task %s vanished before its peaks were computed", task_id)
        return None
    if task.peaks:
        return task
    try:
        if not task.audio.name or not task.audio.storage.exists(task.audio.name):
            raise FileNotFoundError(task.audio.name)
        with local_audio_path(task.audio) as path:
            peaks = compute_peaks(path, duration_hint_s=task.duration_s)
    except (OSError, ValueError, IndexError) as exc:
        logger.warning("Peaks of task %s failed: %s", task_id, exc)
        Task.objects.filter(id=task.id).update(peaks_error="The audio of this task is gone.")
        task.refresh_from_db()
        return task
    except Exception as exc:  # PyAV's FFmpegError and its kin: damaged audio
        logger.warning("Peaks of task %s failed: %s", task_id, exc)
        Task.objects.filter(id=task.id).update(peaks_error="The audio could not be decoded.")
        task.refresh_from_db()
        return task
    name = default_storage.save(f"annotation/peaks/{task.id}.i8", ContentFile(peaks.data))
    claimed = Task.objects.filter(id=task.id, peaks="").update(
        peaks=name,
        peaks_per_second=peaks.peaks_per_second,
        peaks_duration_s=peaks.duration_s,
        peaks_error="",
    )
    if not claimed:  # computed by another delivery meanwhile: keep theirs
        default_storage.delete(name)
    task.refresh_from_db()
    return task


# --- annotating -------------------------------------------------------------------------


def _lock_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.ANNOTATION_LOCK_SECONDS)


def _live_places() -> Q:
    """Annotations that hold a place on their task now."""
    return Q(
        annotations__status__in=[
            Annotation.Status.SUBMITTED,
            Annotation.Status.REJECTED,
            Annotation.Status.APPROVED,
        ]
    ) | Q(
        annotations__status=Annotation.Status.IN_PROGRESS,
        annotations__locked_until__gt=timezone.now(),
    )


def _reopen(annotation: Annotation) -> Annotation:
    now = timezone.now()
    annotation.status = Annotation.Status.IN_PROGRESS
    annotation.locked_until = _lock_until()
    annotation.opened_at = now
    annotation.save(update_fields=["status", "locked_until", "opened_at"])
    return annotation


@transaction.atomic
def task_next_for_annotator(*, user: Any) -> Annotation | None:
    """The annotation `user` should work on now, locked to them: their draft in progress, else
    one a reviewer sent back, else a new one on the oldest open task with a free place (none
    they already annotate). A place held by a lapsed lock is taken over: that draft is kept as
    expired and seeds the new one. None when there is nothing to do."""
    require_role(user, ANNOTATOR)
    mine = (
        Annotation.objects.filter(annotator_id=user.id, status__in=Annotation.EDITABLE_STATUSES)
        .order_by("status", "saved_at")  # in_progress before rejected
        .first()
    )
    if mine is not None:
        Task.objects.select_for_update().filter(id=mine.task_id).first()
        mine.refresh_from_db()
        if mine.status in Annotation.EDITABLE_STATUSES:
            return _reopen(mine)

    candidates = (
        Task.objects.filter(status=Task.Status.OPEN)
        .exclude(
            id__in=Annotation.objects.filter(annotator_id=user.id)
            .exclude(status=Annotation.Status.EXPIRED)
            .values("task_id")
        )
        .annotate(held=Count("annotations", filter=_live_places()))
        .filter(held__lt=F("required_annotations"))
        .order_by("created_at")
        .values_list("id", flat=True)[:20]
    )
    for task_id in list(candidates):
        task = Task.objects.select_for_update(skip_locked=True).filter(id=task_id).first()
        if task is None or task.status != Task.Status.OPEN:
            continue  # another annotator is being given it right now
        now = timezone.now()
        annotations = list(task.annotations.exclude(status=Annotation.Status.EXPIRED))
        lapsed = [
            a
            for a in annotations
            if a.status == Annotation.Status.IN_PROGRESS
            and (a.locked_until is None or a.locked_until <= now)
        ]
        if len(annotations) - len(lapsed) >= task.required_annotations:
            continue
        if any(a.annotator_id == user.id for a in annotations):
            continue
        for annotation in lapsed:
            annotation.status = Annotation.Status.EXPIRED
            annotation.locked_until = None
            annotation.save(update_fields=["status", "locked_until"])
        # The newest draft someone left (lapsed or released) is carried on, not lost.
        seed = (
            task.annotations.filter(status=Annotation.Status.EXPIRED).order_by("-saved_at").first()
        )
        annotation = Annotation(
            task=task,
            annotator=user,
            segments=seed.segments if seed else task.machine_segments,
            dialect=seed.dialect if seed else _clip_dialect(task),
            locked_until=_lock_until(),
            created_at=now,
            saved_at=now,
            opened_at=now,
        )
        annotation.full_clean()
        annotation.save()
        return annotation
    return None


def _clip_dialect(task: Task) -> str:
    if task.clip is not None:
        return str((task.clip.speaker_profile or {}).get("dialect", ""))
    return ""


def _locked_editable(*, user: Any, annotation_id: Any, version: int) -> Annotation:
    """The annotation, with its task's row locked, if `user` may change it at `version`."""
    require_role(user, ANNOTATOR)
    annotation = Annotation.objects.filter(id=annotation_id, annotator_id=user.id).first()
    if annotation is None:
        raise ApplicationError(
            "annotation_not_found", "No such annotation.", status_code=status.HTTP_404_NOT_FOUND
        )
    Task.objects.select_for_update().filter(id=annotation.task_id).first()
    annotation.refresh_from_db()
    if annotation.status == Annotation.Status.EXPIRED:
        raise _conflict(
            "lock_lost",
            "Your lock on this task lapsed and the task went to another annotator. Nothing was "
            f"overwritten: your last saved draft (version {annotation.version}) is kept.",
            current_version=annotation.version,
        )
    if annotation.status not in Annotation.EDITABLE_STATUSES:
        raise _conflict(
            "not_editable",
            f"This annotation is {annotation.get_status_display().lower()}; it cannot be changed.",
            current_version=annotation.version,
        )
    if annotation.version != version:
        raise _conflict(
            "stale_version",
            f"A newer version ({annotation.version}) of this annotation was saved elsewhere, "
            f"after the version {version} this page holds. Nothing was overwritten: reload to "
            "see the newer one.",
            current_version=annotation.version,
        )
    return annotation


def _check_dialect(dialect: str) -> str:
    if dialect and dialect not in Dialect.values:
        raise ApplicationError(
            "invalid_dialect", f"Unknown dialect {dialect!r}.", details={"dialect": dialect}
        )
    return dialect


def _apply(annotation: Annotation, *, segments: Any, dialect: str, final: bool) -> None:
    annotation.segments = clean_segments(
        segments, duration_s=annotation.task.duration_s, final=final
    )
    annotation.dialect = _check_dialect(dialect)
    now = timezone.now()
    if annotation.opened_at is not None:
        annotation.work_seconds += min(
            (now - annotation.opened_at).total_seconds(), IDLE_CAP_SECONDS
        )
    annotation.opened_at = now
    annotation.version += 1
    annotation.saved_at = now


@transaction.atomic
def annotation_save_draft(
    *, user: Any, annotation_id: Any, version: int, segments: Any, dialect: str = ""
) -> Annotation:
    """Save a draft over `version` (the one the editor loaded or last saved), renewing the
    lock. Refused with 409 when the page is stale, the lock went to someone else, or the
    annotation is no longer editable; with 400 for segments that break the rules."""
    annotation = _locked_editable(user=user, annotation_id=annotation_id, version=version)
    _apply(annotation, segments=segments, dialect=dialect, final=False)
    annotation.status = Annotation.Status.IN_PROGRESS
    annotation.locked_until = _lock_until()
    annotation.save()
    return annotation


@transaction.atomic
def annotation_submit(
    *, user: Any, annotation_id: Any, version: int, segments: Any, dialect: str = ""
) -> Annotation:
    """Save and hand in for review. The task goes to review once every annotation it needs is
    in."""
    annotation = _locked_editable(user=user, annotation_id=annotation_id, version=version)
    _apply(annotation, segments=segments, dialect=dialect, final=True)
    annotation.status = Annotation.Status.SUBMITTED
    annotation.submitted_at = annotation.saved_at
    annotation.locked_until = None
    annotation.edit_rate = edit_rate(task=annotation.task, segments=annotation.segments)
    annotation.save()
    task = annotation.task
    handed_in = task.annotations.filter(
        status__in=[Annotation.Status.SUBMITTED, Annotation.Status.APPROVED]
    ).count()
    if handed_in >= task.required_annotations:
        Task.objects.filter(id=task.id).update(status=Task.Status.REVIEW)
    return annotation


@transaction.atomic
def annotation_release(*, user: Any, annotation_id: Any, version: int) -> Annotation:
    """Give the task back: the draft is kept (as expired) and seeds whoever takes it next."""
    annotation = _locked_editable(user=user, annotation_id=annotation_id, version=version)
    annotation.status = Annotation.Status.EXPIRED
    annotation.locked_until = None
    annotation.save(update_fields=["status", "locked_until"])
    Task.objects.filter(id=annotation.task_id).update(status=Task.Status.OPEN)
    return annotation


# --- reviewing --------------------------------------------------------------------------


@transaction.atomic
def review_decide(*, reviewer: Any, annotation_id: Any, decision: str, comment: str = "") -> Review:
    """Approve a submitted annotation (its task is approved: it is exported) or reject it with
    a comment (it goes back to its annotator, and the task reopens)."""
    require_role(reviewer, REVIEWER)
    if decision not in Review.Decision.values:
        raise ApplicationError("invalid_input", "The decision is approve or reject.")
    comment = comment.strip()
    if decision == Review.Decision.REJECT and not comment:
        raise ApplicationError("comment_required", "Say what to fix: a rejection needs a comment.")
    annotation = Annotation.objects.filter(id=annotation_id).first()
    if annotation is None:
        raise ApplicationError(
            "annotation_not_found", "No such annotation.", status_code=status.HTTP_404_NOT_FOUND
        )
    task = Task.objects.select_for_update().get(id=annotation.task_id)
    annotation.refresh_from_db()
    if annotation.annotator_id == reviewer.id:
        raise ApplicationError(
            "own_annotation",
            "You cannot review your own annotation.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if annotation.status != Annotation.Status.SUBMITTED:
        raise _conflict(
            "not_submitted",
            f"This annotation is {annotation.get_status_display().lower()}, not waiting for "
            "review.",
        )
    others = [
        a
        for a in task.annotations.filter(
            status__in=[Annotation.Status.SUBMITTED, Annotation.Status.APPROVED]
        ).exclude(id=annotation.id)
    ]
    review = Review(
        annotation=annotation,
        reviewer=reviewer,
        decision=decision,
        comment=comment,
        version=annotation.version,
        wer=annotation.edit_rate,
        agreement=(
            agreement(task=task, first=annotation.segments, second=others[0].segments)
            if others
            else None
        ),
        created_at=timezone.now(),
    )
    review.full_clean()
    review.save()
    if decision == Review.Decision.APPROVE:
        annotation.status = Annotation.Status.APPROVED
        task.status = Task.Status.APPROVED
    else:
        annotation.status = Annotation.Status.REJECTED
        task.status = Task.Status.OPEN
    annotation.save(update_fields=["status"])
    task.save(update_fields=["status"])
    return review

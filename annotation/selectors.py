"""Reads for annotation: permission-checked fetches, the review comparison, figures for admins,
and what the exporter takes (approved annotations)."""

from __future__ import annotations

import difflib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.metrics import EmptyReferenceError, normalise, score_normalised

from .models import Annotation, Review, Task
from .roles import ANNOTATOR, REVIEWER, has_role, is_admin
from .segments import transcript_text


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(
        f"{what}_not_found", f"No such {what}.", status_code=status.HTTP_404_NOT_FOUND
    )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def annotation_get_for_user(*, user: Any, annotation_id: Any) -> Annotation:
    """The annotation if `user` made it, or reviews (reviewers and admins see every one); the
    same 404 when it is missing or not theirs to see."""
    annotation_uuid = _uuid(annotation_id)
    annotation = (
        Annotation.objects.select_related("task", "annotator").filter(id=annotation_uuid).first()
        if annotation_uuid
        else None
    )
    if annotation is None:
        raise _not_found("annotation")
    if annotation.annotator_id == user.id and has_role(user, ANNOTATOR):
        return annotation
    if has_role(user, REVIEWER):
        return annotation
    raise _not_found("annotation")


def task_get_for_user(*, user: Any, task_id: Any) -> Task:
    """The task if `user` reviews, or annotates it (holds an annotation of it, even expired)."""
    task_uuid = _uuid(task_id)
    task = Task.objects.filter(id=task_uuid).first() if task_uuid else None
    if task is None:
        raise _not_found("task")
    if has_role(user, REVIEWER):
        return task
    if has_role(user, ANNOTATOR) and task.annotations.filter(annotator_id=user.id).exists():
        return task
    raise _not_found("task")


def task_get_for_review(*, user: Any, task_id: Any) -> Task:
    if not has_role(user, REVIEWER):
        raise _not_found("task")
    return task_get_for_user(user=user, task_id=task_id)


def annotations_of(*, user: Any) -> QuerySet[Annotation]:
    """`user`'s annotations that are not expired, rejected ones first, then newest."""
    return (
        Annotation.objects.filter(annotator_id=user.id)
        .exclude(status=Annotation.Status.EXPIRED)
        .select_related("task")
        .prefetch_related(
            Prefetch("reviews", queryset=Review.objects.order_by("-created_at"), to_attr="latest")
        )
        .order_by("-saved_at")
    )


def tasks_for_review() -> QuerySet[Task]:
    """Tasks whose annotations are all in, oldest first."""
    return Task.objects.filter(status=Task.Status.REVIEW).order_by("created_at")


def _wer(reference: str, hypothesis: str, language: str) -> float | None:
    try:
        return round(
            score_normalised(normalise(reference, language), normalise(hypothesis, language)).wer,
            4,
        )
    except EmptyReferenceError:
        return None


def edit_rate(*, task: Task, segments: list[dict[str, Any]]) -> float | None:
    """WER of the machine transcript against a correction (the correction is the reference):
    how much the annotator changed. None when the correction has no words."""
    machine = transcript_text(task.machine_segments)
    return _wer(transcript_text(segments), machine, task.language)


def agreement(*, task: Task, first: list[dict], second: list[dict]) -> float | None:
    """1 − WER between two annotators' texts (the first as reference), floored at 0."""
    rate = _wer(transcript_text(first), transcript_text(second), task.language)
    return None if rate is None else round(max(0.0, 1.0 - rate), 4)


def word_diff(before: str, after: str) -> list[dict[str, str]]:
    """`before` → `after` word by word: pieces tagged equal, delete, insert (a replacement is
    a delete then an insert), as the review page highlights them."""
    a, b = before.split(), after.split()
    pieces: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append({"op": "equal", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            pieces.append({"op": "delete", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            pieces.append({"op": "insert", "text": " ".join(b[j1:j2])})
    return pieces


@dataclass
class ReviewView:
    task: Task
    machine_text: str
    annotations: list[dict[str, Any]] = field(default_factory=list)
    agreement: float | None = None


def review_view(*, task: Task) -> ReviewView:
    """What a reviewer compares: each submitted (or decided) annotation beside the machine
    transcript, the word differences, the WER between them, and with two blind annotations
    their agreement."""
    machine = transcript_text(task.machine_segments)
    annotations = list(
        task.annotations.exclude(status__in=[Annotation.Status.EXPIRED])
        .select_related("annotator")
        .prefetch_related(
            Prefetch("reviews", queryset=Review.objects.order_by("-created_at"), to_attr="latest")
        )
        .order_by("created_at")
    )
    shown = []
    for annotation in annotations:
        text = transcript_text(annotation.segments)
        shown.append(
            {
                "annotation": annotation,
                "text": text,
                "diff": word_diff(machine, text),
                "wer": edit_rate(task=task, segments=annotation.segments),
                "segments": annotation.segments,
                "last_review": annotation.latest[0] if annotation.latest else None,
            }
        )
    view = ReviewView(task=task, machine_text=machine, annotations=shown)
    done = [a for a in annotations if a.status != Annotation.Status.IN_PROGRESS]
    if len(done) >= 2:
        view.agreement = agreement(task=task, first=done[0].segments, second=done[1].segments)
    return view


def tasks_progress() -> dict[str, int]:
    counts = dict.fromkeys(Task.Status.values, 0)
    for row in Task.objects.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


@dataclass(frozen=True)
class AnnotatorFigures:
    username: str
    submitted: int
    approved: int
    rejected_reviews: int
    tasks_per_hour: float | None
    mean_edit_rate: float | None
    mean_agreement: float | None


def annotator_figures() -> list[AnnotatorFigures]:
    """Per annotator: annotations submitted (ever) and approved, reviews that rejected them,
    tasks per hour of editing time, mean edit rate against the machine transcript, and mean
    agreement with the other annotator on blind double tasks."""
    done = (
        Annotation.objects.exclude(
            status__in=[Annotation.Status.IN_PROGRESS, Annotation.Status.EXPIRED]
        )
        .select_related("annotator", "task")
        .annotate(rejections=Count("reviews", filter=Q(reviews__decision="reject")))
    )
    by_user: dict[str, list[Any]] = defaultdict(list)
    by_task: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for annotation in done:
        by_user[annotation.annotator.get_username()].append(annotation)
        by_task[annotation.task_id].append(annotation)
    agreements: dict[str, list[float]] = defaultdict(list)
    for pair in by_task.values():
        if len(pair) < 2 or pair[0].task.required_annotations < 2:
            continue
        score = agreement(task=pair[0].task, first=pair[0].segments, second=pair[1].segments)
        if score is not None:
            for annotation in pair[:2]:
                agreements[annotation.annotator.get_username()].append(score)
    figures = []
    for username, rows in sorted(by_user.items()):
        seconds = sum(a.work_seconds for a in rows)
        rates = [a.edit_rate for a in rows if a.edit_rate is not None]
        mine = agreements.get(username, [])
        figures.append(
            AnnotatorFigures(
                username=username,
                submitted=len(rows),
                approved=sum(1 for a in rows if a.status == Annotation.Status.APPROVED),
                rejected_reviews=sum(getattr(a, "rejections", 0) for a in rows),
                tasks_per_hour=round(len(rows) / (seconds / 3600), 2) if seconds > 0 else None,
                mean_edit_rate=round(sum(rates) / len(rates), 4) if rates else None,
                mean_agreement=round(sum(mine) / len(mine), 4) if mine else None,
            )
        )
    return figures


def approved_for_export() -> QuerySet[Annotation]:
    """Approved annotations with their tasks, oldest task first: what the dataset exporter
    (`manage.py export_dataset --source annotation`) writes."""
    return (
        Annotation.objects.filter(status=Annotation.Status.APPROVED)
        .select_related("task")
        .order_by("task__created_at", "task_id")
    )


def can_review(user: Any) -> bool:
    return has_role(user, REVIEWER)


def can_administer(user: Any) -> bool:
    return is_admin(user)

"""Annotation: tasks (a recording with its machine transcript), the annotations people make of
them (locked to one annotator while in progress, versioned on every save) and reviews.

Segments live as JSON on the annotation (see annotation/segments.py for their shape and rules):
an annotation is saved whole, many times a minute, and versioned whole; rows per segment would
turn every autosave into a diff."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def manifest_audio_path(task: Task, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"annotation/audio/{task.created_at:%Y/%m/%d}/{task.id}.{suffix[:8]}"


def peaks_path(task: Task, filename: str) -> str:
    return f"annotation/peaks/{task.id}.i8"


class Task(models.Model):
    class Source(models.TextChoices):
        JOB = "job", "Transcription job"
        CLIP = "clip", "Collection clip"
        MANIFEST = "manifest", "Imported manifest"

    class Status(models.TextChoices):
        OPEN = "open"  # waiting for (more) annotations, or sent back by a reviewer
        REVIEW = "review"  # every annotation it needs is submitted
        APPROVED = "approved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=16, choices=Source.choices)
    # The job or clip it came from; the audio name below stays if they are deleted (and the
    # file with them: the editor then says the audio is gone).
    job = models.ForeignKey(
        "transcription.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clip = models.ForeignKey(
        "collection.Clip", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For jobs and clips, the name of their stored file (not a copy); for manifests, a copy.
    audio = models.FileField(upload_to=manifest_audio_path, max_length=255)
    original_name = models.CharField(max_length=255)
    duration_s = models.FloatField()
    language = models.CharField(max_length=8, blank=True)  # uz, ru, mixed or "" (unknown)
    # Pseudonymous: what keeps one recording's (or one volunteer's) segments in one split.
    speaker_key = models.CharField(max_length=64)
    machine_segments = models.JSONField(
        default=list, blank=True
    )  # the prefill, in annotation/segments shape
    required_annotations = models.PositiveSmallIntegerField(default=1)  # 2: blind double
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    peaks = models.FileField(upload_to=peaks_path, max_length=255, blank=True)
    peaks_per_second = models.PositiveIntegerField(null=True, blank=True)
    peaks_duration_s = models.FloatField(null=True, blank=True)
    peaks_error = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_annotations__gte=1, required_annotations__lte=2),
                name="task_one_or_two_annotations",
            )
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


# Tasks an admin makes through the API (a manifest is a file on the server: the command).
CREATABLE_SOURCES = [
    (Task.Source.JOB.value, "Transcription job"),
    (Task.Source.CLIP.value, "Collection clip"),
]


class Annotation(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"  # a draft, locked to its annotator until locked_until
        SUBMITTED = "submitted"
        REJECTED = "rejected"  # sent back with a comment; its annotator gets it again
        APPROVED = "approved"
        # The lock lapsed and the task went to someone else. The draft is kept (and seeds theirs).
        EXPIRED = "expired"

    # Statuses that hold one of the task's places.
    ACTIVE_STATUSES = (Status.IN_PROGRESS, Status.SUBMITTED, Status.REJECTED, Status.APPROVED)
    EDITABLE_STATUSES = (Status.IN_PROGRESS, Status.REJECTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.IN_PROGRESS, db_index=True
    )
    segments = models.JSONField(default=list, blank=True)
    dialect = models.CharField(max_length=32, blank=True)  # collection.models.Dialect values
    # Bumped by every save; a save that names an older one is refused (a stale tab).
    version = models.PositiveIntegerField(default=1)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    saved_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Seconds between opening and submitting, summed over rounds (for tasks per hour).
    work_seconds = models.FloatField(default=0.0)
    opened_at = models.DateTimeField(null=True, blank=True)  # start of the current round
    # WER of the machine transcript against this correction, when submitted.
    edit_rate = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "annotator"],
                condition=~models.Q(status="expired"),
                name="one_live_annotation_per_annotator_per_task",
            )
        ]

    def __str__(self) -> str:
        return f"annotation {self.id.hex[:8]} of {self.task_id} ({self.status})"


class Review(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_reviews"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)
    version = models.PositiveIntegerField()  # the annotation version reviewed
    wer = models.FloatField(null=True, blank=True)  # machine vs correction, as shown
    agreement = models.FloatField(null=True, blank=True)  # between blind annotations, if two
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.decision} of {self.annotation_id}"

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import Truncator

from uzwhisper.asr.languages import LANGUAGE_MODE_LABELS, LANGUAGE_MODES
from uzwhisper.lib.subtitles import UNTRANSCRIBED_LABEL


def job_audio_path(job: Job, filename: str) -> str:
    # The stored name never contains the user's filename: that lives in original_name.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"audio/{job.created_at:%Y/%m/%d}/{job.id}.{suffix[:8]}"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    # The modes of uzwhisper.asr.languages (mixed: each stretch of speech decoded in its own
    # language, for code-switching).
    # django-stubs types only the class form of TextChoices, not Enum's functional API.
    Language = models.TextChoices(  # type: ignore[call-overload]
        "Language", [(mode.upper(), (mode, LANGUAGE_MODE_LABELS[mode])) for mode in LANGUAGE_MODES]
    )

    class Source(models.TextChoices):
        """The entry point that created the job."""

        UPLOAD = "upload", "Upload"  # the upload page
        API = "api", "API"  # POST /api/v1/jobs/
        OPENAI = "openai", "OpenAI API"  # POST /v1/audio/transcriptions
        LIVE = "live", "Live"  # a live session, saved when it ends

    FINISHED_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELLED)
    # The job list shows the start of each transcript: this many characters, taken from at most
    # this many segments (prefetched by selectors.job_list(with_preview=True)).
    PREVIEW_CHARS = 120
    PREVIEW_SEGMENTS = 12

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    created_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.UPLOAD)

    audio = models.FileField(upload_to=job_audio_path, max_length=255)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    duration_s = models.FloatField()
    codec = models.CharField(max_length=32, blank=True)

    language_requested = models.CharField(
        max_length=8, choices=Language.choices, default=Language.AUTO
    )
    language_detected = models.CharField(max_length=8, blank=True)
    language_probability = models.FloatField(null=True, blank=True)
    beam_size = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    vad_filter = models.BooleanField(default=True)
    word_timestamps = models.BooleanField(default=True)
    initial_prompt = models.CharField(max_length=1000, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)  # 0..1, share of the audio decoded
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    model_id = models.CharField(max_length=128, blank=True)
    # Code-switching, from the words' language tags: Gambäck & Das CMI (0 = one language) and
    # where the language changes, [{"time": s, "from": "uz", "to": "ru"}, ...].
    code_mixing_index = models.FloatField(null=True, blank=True)
    switch_points = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    processing_s = models.FloatField(null=True, blank=True)
    real_time_factor = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def transcript_preview(self) -> str:
        """The first PREVIEW_CHARS characters of the transcript ("…" when cut). Reads the
        segments `job_list(with_preview=True)` prefetched; without them it costs a query."""
        segments = getattr(self, "preview_segments", None)
        if segments is None:
            segments = self.segments.order_by("index")[: self.PREVIEW_SEGMENTS]
        # A stretch the model could not write says so, as in the exports: a finished job whose
        # speech was all marked does not read as an empty transcript.
        text = " ".join(
            part
            for segment in segments
            if (part := UNTRANSCRIBED_LABEL if segment.untranscribed else segment.text.strip())
        )
        return Truncator(text).chars(self.PREVIEW_CHARS)


class Segment(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()  # as the model wrote it
    text_latin = models.TextField(blank=True)  # Uzbek in one Latin spelling; Russian unchanged
    language = models.CharField(max_length=8, blank=True)  # the language it was decoded in
    code_mixing_index = models.FloatField(null=True, blank=True)
    avg_logprob = models.FloatField()
    no_speech_prob = models.FloatField()
    # Speech the model could not write (see engine.SegmentResult.untranscribed): no text, times
    # kept, for annotators to pick up.
    untranscribed = models.BooleanField(default=False)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="segment_unique_index_per_job")
        ]

    def __str__(self) -> str:
        return f"[{self.start:.2f}-{self.end:.2f}] {self.text[:40]}"


class Word(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="words")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    text = models.CharField(max_length=255)
    probability = models.FloatField()
    language = models.CharField(max_length=8, blank=True)  # uz, ru or other (numbers, names)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "index"], name="word_unique_index_per_segment"
            )
        ]

    def __str__(self) -> str:
        return self.text


class ModelVersion(models.Model):
    """A Whisper model the workers can serve: a CTranslate2 directory and what is known about it.

    Exactly one version is in production at a time (a partial unique constraint); workers read
    which through `transcription.serving.engine_config()`. The bundled base is the first version:
    its `path` is empty and stands for `settings.WHISPER_MODEL`, so the row is the same on every
    machine. A version registered by a fine-tune run names the run by id only: nothing here
    imports the training app.
    """

    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        PRODUCTION = "production"
        RETIRED = "retired"

    BUNDLED_NAME = "whisper-base (bundled)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True
    )
    # The CTranslate2 model directory ("" = the bundled model, settings.WHISPER_MODEL).
    path = models.CharField(max_length=1000, blank=True)
    # SHA-256 of model.bin when registered; checked again before promotion.
    checksum = models.CharField(max_length=64)
    base = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived"
    )
    # The fine-tune run that made it (training.FineTuneRun's id; no foreign key across the rule
    # that nothing depends on training).
    run_id = models.UUIDField(null=True, blank=True)
    # What it was trained on: [{"kind", "name", "rows", "seconds"}], and the method.
    data = models.JSONField(default=dict, blank=True)
    # Evaluation on the run's evaluation set: {"wer", "cer", "slices": [...], "clips": [...]}
    # with the shared WER/CER code's slice dicts and per-clip hypotheses (for comparisons).
    evaluation = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    # The production version before this one was promoted: what a rollback returns to.
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    # A worker could not load it after promotion: it went on serving the previous version and
    # the registry rolled back (services.registry.model_version_record_load_failure).
    load_error = models.TextField(blank=True)
    load_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="production"),
                name="model_version_one_in_production",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_bundled(self) -> bool:
        return not self.path

    @property
    def model_path(self) -> str:
        return self.path or settings.WHISPER_MODEL


class ModelVersionEvent(models.Model):
    """The registry's log: promotions, rollbacks and load failures, newest first."""

    class Kind(models.TextChoices):
        REGISTERED = "registered"
        PROMOTED = "promoted"
        ROLLED_BACK = "rolled_back"
        LOAD_FAILED = "load_failed"
        RETIRED = "retired"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(db_index=True)
    message = models.TextField(blank=True)
    # Who did it: a user name, "worker <host>:<pid>", or a run.
    actor = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.version_id}"

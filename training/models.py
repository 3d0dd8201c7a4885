from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from uzwhisper.asr.languages import LANGUAGE_MODE_DESCRIPTIONS, LANGUAGE_MODES


class EvaluationRun(models.Model):
    """One `evaluate` run: a model scored on a manifest, with results overall and by slice."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        # Ended early (SIGTERM, Ctrl+C, or its process gone without a word): the clips scored
        # before that are kept and aggregated; `error_message` says why and how far it got.
        STOPPED = "stopped"

    # manifest: each row decoded in its own language; else every row in one of the modes of
    # uzwhisper.asr.languages.
    # django-stubs types only the class form of TextChoices, not Enum's functional API.
    LanguageMode = models.TextChoices(  # type: ignore[call-overload]
        "LanguageMode",
        [
            ("MANIFEST", ("manifest", "Each row's own language")),
            *[(mode.upper(), (mode, LANGUAGE_MODE_DESCRIPTIONS[mode])) for mode in LANGUAGE_MODES],
        ],
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the evaluating process last showed progress: a running run silent for long has lost
    # its process (see `selectors.EVALUATION_STALE_AFTER`).
    heartbeat_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    error_message = models.TextField(blank=True)

    model_path = models.CharField(max_length=1000)
    # "<directory name>@<checksum prefix>", as transcription jobs record it.
    model_id = models.CharField(max_length=128, blank=True)
    model_checksum = models.CharField(max_length=64, blank=True)
    # What the run is called in the list and its report files' names (`evaluate --name`).
    name = models.CharField(max_length=255)
    manifest_name = models.CharField(max_length=255)
    manifest_path = models.CharField(max_length=1000)
    language_mode = models.CharField(
        max_length=16, choices=LanguageMode.choices, default=LanguageMode.MANIFEST
    )
    beam_size = models.PositiveSmallIntegerField(default=1)

    utterances = models.PositiveIntegerField(default=0)
    wer = models.FloatField(null=True, blank=True)
    cer = models.FloatField(null=True, blank=True)
    # [{"dimension", "value", "utterances", "ref_words", "word_errors", "wer", "cer", ...}]
    slices = models.JSONField(default=list, blank=True)
    # [{"line", "code", "reason"}]: manifest lines and clips that could not be scored.
    skipped = models.JSONField(default=list, blank=True)
    audio_seconds = models.FloatField(default=0.0)
    processing_seconds = models.FloatField(default=0.0)

    json_path = models.CharField(max_length=1000, blank=True)
    report_path = models.CharField(max_length=1000, blank=True)
    report_markdown = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} · {self.model_id or self.model_path} ({self.status})"


class EvaluationItem(models.Model):
    """One scored utterance of a run."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    line = models.PositiveIntegerField()  # in the manifest
    audio = models.CharField(max_length=1000)
    duration_s = models.FloatField(default=0.0)

    language = models.CharField(max_length=8)  # the manifest's label
    language_requested = models.CharField(max_length=8)  # what the engine was asked for
    language_decoded = models.CharField(max_length=8, blank=True)  # what it decoded with
    dialect = models.CharField(max_length=64, blank=True)
    speaker = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=500, blank=True)
    code_switched = models.BooleanField(default=False)

    reference = models.TextField()
    hypothesis = models.TextField(blank=True)
    reference_normalised = models.TextField()
    hypothesis_normalised = models.TextField(blank=True)

    ref_words = models.PositiveIntegerField()
    substitutions = models.PositiveIntegerField()
    deletions = models.PositiveIntegerField()
    insertions = models.PositiveIntegerField()
    ref_chars = models.PositiveIntegerField()
    char_errors = models.PositiveIntegerField()
    wer = models.FloatField()
    cer = models.FloatField()
    processing_seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="evaluation_item_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.audio} (WER {self.wer:.2f})"


class FineTuneRun(models.Model):
    """A fine-tune: train from a registered base, convert to CTranslate2 int8 (and ONNX),
    evaluate the three, gate, and register the conversion as a candidate version.

    Runs on the `train` queue (settings.CELERY_TRAIN_QUEUE). Training happens in a child process
    (`training.finetune.train`) that writes its metrics to files in `output_dir`; checkpoints
    under output_dir/checkpoints are kept whatever happens to the run."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        CONVERTING = "converting"
        EVALUATING = "evaluating"
        DONE = "done"  # passed the gate and registered as a candidate version
        REJECTED = "rejected"  # finished, but the gate refused the conversion
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Method(models.TextChoices):
        FULL = "full", "full fine-tune"
        LORA = "lora", "LoRA, merged before conversion"

    class Init(models.TextChoices):
        CHECKPOINT = "checkpoint", "the base version's transformers checkpoint"
        TINY_RANDOM = "tiny-random", "a tiny randomly initialised Whisper (smoke runs, tests)"

    ACTIVE_STATUSES = (Status.TRAINING, Status.CONVERTING, Status.EVALUATING)
    FINISHED_STATUSES = (Status.DONE, Status.REJECTED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    base_version = models.ForeignKey(
        "transcription.ModelVersion", on_delete=models.PROTECT, related_name="+"
    )
    init = models.CharField(max_length=16, choices=Init.choices, default=Init.CHECKPOINT)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.FULL)
    # learning_rate, warmup_steps, max_steps, batch_size, eval_steps, ... (Recipe's fields)
    hyperparameters = models.JSONField(default=dict, blank=True)
    train_manifest = models.CharField(max_length=1000)
    eval_manifest = models.CharField(max_length=1000)
    # {"train": {"rows", "seconds", "by_language"}, "eval": {...}}
    data_summary = models.JSONField(default=dict, blank=True)
    # Clips of the evaluation set also in the training set: {"audio": [...], "speakers": [...]}
    overlap = models.JSONField(default=dict, blank=True)
    overlap_confirmed = models.BooleanField(default=False)
    gate_margin = models.FloatField(default=0.02)

    output_dir = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    step = models.PositiveIntegerField(default=0)
    max_steps = models.PositiveIntegerField(default=0)
    # [{"kind": "loss"|"eval", "step", "loss" | "wer", "wer_uz", "wer_ru", ...}]
    metrics = models.JSONField(default=list, blank=True)
    log_tail = models.TextField(blank=True)
    # {"checkpoint": {...}, "ctranslate2_int8": {...}, "onnx": {...}, "base": {...}}:
    # training.finetune.scoring.FormatScore.as_dict() per format.
    scores = models.JSONField(default=dict, blank=True)
    # {"passed", "margin", "deltas": {"ctranslate2_int8": .., "onnx": ..}, "forgetting", ...}
    gate = models.JSONField(default=dict, blank=True)
    registered_version = models.ForeignKey(
        "transcription.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cpu_seconds = models.FloatField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def progress(self) -> float:
        return self.step / self.max_steps if self.max_steps else 0.0

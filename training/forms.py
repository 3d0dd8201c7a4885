"""The fine-tune launch form: data, base, method, and the recipe's hyper-parameters with the Hugging
Face Whisper recipe's defaults."""

from __future__ import annotations

from typing import Any

from django import forms

from transcription.models import ModelVersion

from .finetune.data import DataChoice
from .finetune.spec import Recipe
from .models import FineTuneRun

_DEFAULTS = Recipe(output_dir="", tokenizer_dir="", train_manifest="", eval_manifest="")


class FineTuneLaunchForm(forms.Form):
    name = forms.SlugField(max_length=100)
    base_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.exclude(status=ModelVersion.Status.RETIRED)
    )
    data_source = forms.ChoiceField(
        label="Training data",
        choices=[
            ("collection", "Validated collection clips"),
            ("annotation", "Approved annotations"),
            ("both", "Collection clips and annotations"),
            ("manifest", "A manifest on the server"),
            ("upload", "Upload (ZIP of manifest.jsonl and audio, or a JSONL)"),
        ],
        initial="collection",
    )
    train_manifest = forms.CharField(
        max_length=1000,
        required=False,
        help_text="JSONL manifest on the training workers' storage",
    )
    train_upload = forms.FileField(required=False, label="Training data upload")
    eval_source = forms.ChoiceField(
        label="Evaluation set",
        choices=[
            ("dev", "The export's dev split (no speaker shared with train)"),
            ("test", "The export's test split"),
            ("manifest", "A manifest on the server"),
            ("upload", "Upload"),
        ],
        initial="dev",
    )
    eval_manifest = forms.CharField(max_length=1000, required=False)
    eval_upload = forms.FileField(required=False, label="Evaluation set upload")
    method = forms.ChoiceField(choices=FineTuneRun.Method.choices)
    init = forms.ChoiceField(choices=FineTuneRun.Init.choices)
    learning_rate = forms.FloatField(initial=_DEFAULTS.learning_rate, min_value=0)
    warmup_steps = forms.IntegerField(initial=_DEFAULTS.warmup_steps, min_value=0)
    max_steps = forms.IntegerField(initial=_DEFAULTS.max_steps, min_value=1)
    batch_size = forms.IntegerField(initial=_DEFAULTS.batch_size, min_value=1)
    eval_steps = forms.IntegerField(initial=_DEFAULTS.eval_steps, min_value=1)
    fp16 = forms.BooleanField(required=False, initial=True, label="fp16 (on GPU)")
    confirm_overlap = forms.BooleanField(
        required=False, label="Run even if the evaluation set overlaps the training set"
    )

    HYPERPARAMETERS = ("learning_rate", "warmup_steps", "max_steps", "batch_size", "eval_steps")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for source_field, manifest_field, upload_field in (
            ("data_source", "train_manifest", "train_upload"),
            ("eval_source", "eval_manifest", "eval_upload"),
        ):
            source = data.get(source_field)
            if source == "manifest" and not data.get(manifest_field):
                self.add_error(manifest_field, "Give the manifest's path on the server.")
            if source == "upload" and not data.get(upload_field):
                self.add_error(upload_field, "Choose a ZIP or JSONL file to upload.")
        return data

    def data_choices(self) -> tuple[DataChoice, DataChoice]:
        """The training data and evaluation set chosen (training.finetune.data)."""
        data = self.cleaned_data
        return (
            DataChoice(
                data["data_source"], manifest=data["train_manifest"], upload=data["train_upload"]
            ),
            DataChoice(
                data["eval_source"], manifest=data["eval_manifest"], upload=data["eval_upload"]
            ),
        )

    def hyperparameters(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {key: data[key] for key in self.HYPERPARAMETERS}
        values["save_steps"] = data["eval_steps"]
        values["fp16"] = None if data["fp16"] else False
        return values

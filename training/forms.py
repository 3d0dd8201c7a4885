"""The fine-tune launch form: data, base, method, and the recipe's hyper-parameters with the Hugging
Face Whisper recipe's defaults."""

from __future__ import annotations

from typing import Any

from django import forms

from transcription.models import ModelVersion

from .finetune.spec import Recipe
from .models import FineTuneRun

_DEFAULTS = Recipe(output_dir="", tokenizer_dir="", train_manifest="", eval_manifest="")


class FineTuneLaunchForm(forms.Form):
    name = forms.SlugField(max_length=100)
    base_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.exclude(status=ModelVersion.Status.RETIRED)
    )
    train_manifest = forms.CharField(
        max_length=1000, help_text="JSONL manifest on the training workers' storage"
    )
    eval_manifest = forms.CharField(max_length=1000)
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

    def hyperparameters(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {key: data[key] for key in self.HYPERPARAMETERS}
        values["save_steps"] = data["eval_steps"]
        values["fp16"] = None if data["fp16"] else False
        return values

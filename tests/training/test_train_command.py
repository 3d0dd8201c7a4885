"""`manage.py train` from a terminal, in this process (`--here`): a LoRA fine-tune of the tiny
model, merged before conversion, converted, evaluated, gated and registered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support import EVAL_STEMS, TINY_RUN, TRAIN_STEMS, write_manifest
from training.models import FineTuneRun
from transcription.models import ModelVersion

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def settings_args(values: dict) -> list[str]:
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def test_a_lora_run_from_the_command_line_is_merged_converted_and_registered(tmp_path):
    out = io.StringIO()
    call_command(
        "train",
        "--name=lora-cli",
        f"--train={write_manifest(tmp_path / 'train.jsonl', TRAIN_STEMS)}",
        f"--eval={write_manifest(tmp_path / 'eval.jsonl', EVAL_STEMS)}",
        "--method=lora",
        "--init=tiny-random",
        "--here",
        *settings_args({**TINY_RUN, "max_steps": 2}),
        stdout=out,
    )
    text = out.getvalue()
    assert "status: done" in text
    assert "ctranslate2_int8: WER" in text
    assert "Registered candidate lora-cli (candidate)" in text
    run = FineTuneRun.objects.get(name="lora-cli")
    assert run.method == "lora"
    # Merged: the saved checkpoint is a plain Whisper, no adapter files.
    final = Path(run.output_dir) / "final"
    assert (final / "model.safetensors").exists()
    assert not (final / "adapter_config.json").exists()
    assert json.loads((final / "config.json").read_text())["model_type"] == "whisper"
    assert ModelVersion.objects.get(name="lora-cli").status == "candidate"


def test_refusals_are_clear_on_the_command_line(tmp_path):
    with pytest.raises(CommandError, match=r"training_set_too_small"):
        call_command(
            "train",
            "--name=tiny-set",
            f"--train={write_manifest(tmp_path / 'train.jsonl', ['vm-sorry'])}",
            f"--eval={write_manifest(tmp_path / 'eval.jsonl', EVAL_STEMS)}",
            "--init=tiny-random",
            "--here",
        )

"""Data-parallel training through the standard launcher: the exact command a worker with several
GPUs runs (`train_command`, torchrun), here with two CPU processes (gloo), so the launcher path is
exercised on any machine. One rank writes the model and the metrics; both train."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import ROOT
from training.finetune.execution import train_command
from training.finetune.recipe import METRICS_FILE

from .helpers import tiny_recipe

pytestmark = pytest.mark.slow


def test_two_processes_train_one_model_through_torchrun(tmp_path):
    recipe = tiny_recipe(tmp_path, max_steps=2, batch_size=2, eval_steps=2)
    recipe_path = tmp_path / "recipe.json"
    recipe.save(recipe_path)
    command = train_command(recipe_path, gpus=2)
    assert command[1:4] == ["-m", "torch.distributed.run", "--standalone"]

    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]

    records = [
        json.loads(line) for line in (recipe.out / METRICS_FILE).read_text().splitlines() if line
    ]
    trained = [r for r in records if r["kind"] == "trained"]
    # Rank 0 alone saves the model and reports: one "trained" record, one progress line a step.
    assert len(trained) == 1
    assert trained[0]["step"] == 2
    assert trained[0]["processes"] == 2  # one process group of two ranks trained the model
    assert [r["step"] for r in records if r["kind"] == "progress"] == [1, 2]
    assert (recipe.final_dir / "model.safetensors").exists()
    assert json.loads((recipe.final_dir / "generation_config.json").read_text())["lang_to_id"]

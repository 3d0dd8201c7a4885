"""Staff pages for fine-tune runs and the model registry: launch, refuse, cancel, promote, roll
back, compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import ModelVersionFactory, UserFactory
from tests.support import EVAL_STEMS, TRAIN_STEMS, bundled_model_copy, write_manifest
from training.models import FineTuneRun
from transcription.models import ModelVersion
from transcription.services import registry

from .test_finetune_data import training_zip, validated_clips

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, username="admin"))
    return client


def launch_form(tmp_path, **overrides) -> dict:
    base = registry.model_version_bundled()
    return {
        "name": "uz-v1",
        "base_version": str(base.id),
        "data_source": "manifest",
        "train_manifest": str(write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS)),
        "eval_source": "manifest",
        "eval_manifest": str(write_manifest(tmp_path / "eval.jsonl", EVAL_STEMS)),
        "method": "lora",
        "init": "tiny-random",
        "learning_rate": "1e-5",
        "warmup_steps": "500",
        "max_steps": "4000",
        "batch_size": "16",
        "eval_steps": "1000",
        "fp16": "on",
        **overrides,
    }


def test_the_launch_form_has_the_whisper_recipe_defaults(staff_client):
    page = staff_client.get("/evaluations/runs/").content.decode()
    for field, value in [
        ("learning_rate", "1e-05"),
        ("warmup_steps", "500"),
        ("max_steps", "4000"),
        ("batch_size", "16"),
    ]:
        assert f'name="{field}" value="{value}"' in page


def test_staff_launch_a_run_and_see_its_page(staff_client, tmp_path):
    response = staff_client.post("/evaluations/runs/", launch_form(tmp_path))
    run = FineTuneRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/evaluations/runs/{run.id}/"
    assert run.method == "lora"
    assert run.hyperparameters["learning_rate"] == 1e-5
    assert run.hyperparameters["fp16"] is None  # on when a GPU is there
    assert run.created_by.username == "admin"
    page = staff_client.get(response["Location"]).content.decode()
    assert "Fine-tune uz-v1" in page
    assert 'id="chart-loss"' in page
    assert "Cancel run" in page

    staff_client.post(f"/evaluations/runs/{run.id}/cancel/")
    run.refresh_from_db()
    assert run.status == FineTuneRun.Status.CANCELLED


def test_an_overlapping_evaluation_set_is_refused_on_the_page(staff_client, tmp_path):
    form = launch_form(tmp_path)
    form["eval_manifest"] = form["train_manifest"]
    page = staff_client.post("/evaluations/runs/", form).content.decode()
    assert "overlaps the training set" in page
    assert not FineTuneRun.objects.exists()
    staff_client.post("/evaluations/runs/", {**form, "confirm_overlap": "on"})
    assert FineTuneRun.objects.get().overlap_confirmed


def test_non_staff_cannot_launch_or_promote(client, tmp_path):
    client.force_login(UserFactory())
    assert client.get("/evaluations/runs/").status_code == 403
    version = ModelVersionFactory()
    assert client.post(f"/models/{version.id}/promote/").status_code == 403
    assert client.post("/models/rollback/").status_code == 403


def test_promote_roll_back_and_compare_from_the_registry_page(staff_client, tmp_path):
    base = registry.model_version_bundled()
    candidate = registry.model_version_register(
        name="uz-v2", path=bundled_model_copy(tmp_path / "uz-v2"), base=base
    )
    page = staff_client.get("/models/").content.decode()
    assert "uz-v2" in page
    assert "whisper-base (bundled)" in page

    staff_client.post(f"/models/{candidate.id}/promote/")
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.PRODUCTION
    assert "uz-v2 is in production" in staff_client.get("/models/").content.decode()

    staff_client.post("/models/rollback/")
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.RETIRED

    left = ModelVersionFactory(
        name="left",
        evaluation={
            "slices": [{"dimension": "language", "value": "uz", "wer": 0.5, "cer": 0.2}],
            "clips": [{"audio": "a.wav", "reference": "salom", "hypothesis": "salam", "wer": 1.0}],
        },
    )
    right = ModelVersionFactory(
        name="right",
        evaluation={
            "slices": [{"dimension": "language", "value": "uz", "wer": 0.25, "cer": 0.1}],
            "clips": [{"audio": "a.wav", "reference": "salom", "hypothesis": "salom", "wer": 0.0}],
        },
    )
    page = staff_client.get(f"/models/compare/?left={left.id}&right={right.id}").content.decode()
    assert "language=uz" in page
    assert "-0.25" in page
    assert "salam" in page


def test_staff_launch_a_run_on_validated_collection_clips(staff_client, tmp_path):
    validated_clips(tmp_path, 10)
    form = launch_form(tmp_path, data_source="collection", eval_source="dev")
    form.pop("train_manifest")
    form.pop("eval_manifest")
    response = staff_client.post("/evaluations/runs/", form)
    run = FineTuneRun.objects.get()
    assert response["Location"] == f"/evaluations/runs/{run.id}/"
    assert run.data_summary["source"]["train"]["source"] == "collection"
    assert run.data_summary["train"]["rows"] == 8
    assert Path(run.eval_manifest) == Path(run.train_manifest).with_name("dev.jsonl")
    page = staff_client.get(response["Location"]).content.decode()
    assert "Training data: collection (export: train 8, dev 1, test 1 clips)" in page
    assert "evaluation set: dev" in page


def test_staff_launch_a_run_on_an_uploaded_zip(staff_client, tmp_path):
    form = launch_form(tmp_path, data_source="upload", train_upload=training_zip())
    form.pop("train_manifest")
    staff_client.post("/evaluations/runs/", form)  # multipart: the test client's default
    run = FineTuneRun.objects.get()
    assert run.data_summary["source"]["train"]["source"] == "upload"
    assert run.data_summary["train"]["rows"] == len(TRAIN_STEMS)


def test_the_launch_form_says_what_each_source_lacks(staff_client, tmp_path):
    form = launch_form(tmp_path, data_source="upload", eval_source="manifest", eval_manifest="")
    page = staff_client.post("/evaluations/runs/", form).content.decode()
    assert "Choose a ZIP or JSONL file to upload." in page
    assert "Give the manifest&#x27;s path on the server." in page
    assert 'enctype="multipart/form-data"' in page
    page = staff_client.post(
        "/evaluations/runs/", launch_form(tmp_path, data_source="collection", eval_source="dev")
    ).content.decode()
    assert "No validated collection clips yet" in page
    assert not FineTuneRun.objects.exists()

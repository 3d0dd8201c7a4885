"""The model registry: register, promote, roll back, a version that fails to load, comparisons.
The services run against PostgreSQL; `serving.engine_config()` is what workers read."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.factories import ModelVersionFactory
from tests.support import broken_model_dir, bundled_model_copy
from transcription import selectors, serving
from transcription.models import ModelVersion, ModelVersionEvent
from transcription.services import registry
from uzwhisper.errors import ApplicationError
from uzwhisper.lib.model_bundle import MODEL_BIN_SHA256

pytestmark = pytest.mark.django_db


def test_the_bundled_base_is_the_first_version_and_serves(tmp_path):
    ModelVersion.objects.all().delete()  # as a fresh database before the data migration
    assert serving.engine_config().model_path == settings.WHISPER_MODEL

    bundled = registry.model_version_bundled()
    assert bundled.status == ModelVersion.Status.PRODUCTION
    assert bundled.checksum == MODEL_BIN_SHA256
    assert bundled.model_path == settings.WHISPER_MODEL
    assert registry.model_version_bundled() == bundled  # made once
    assert serving.engine_config().model_path == settings.WHISPER_MODEL


def test_register_promote_and_roll_back(tmp_path):
    bundled = registry.model_version_bundled()
    copy = bundled_model_copy(tmp_path / "whisper-base-v2")

    version = registry.model_version_register(name="v2", path=copy, base=bundled, actor="test")
    assert version.status == ModelVersion.Status.CANDIDATE
    assert version.checksum == MODEL_BIN_SHA256
    assert serving.engine_config().model_path == settings.WHISPER_MODEL  # nothing served changed

    registry.model_version_promote(version_id=version.id, actor="admin")
    version.refresh_from_db()
    bundled.refresh_from_db()
    assert version.status == ModelVersion.Status.PRODUCTION
    assert version.previous == bundled
    assert bundled.status == ModelVersion.Status.RETIRED
    assert serving.engine_config().model_path == str(copy)

    back = registry.model_version_rollback(actor="admin")
    version.refresh_from_db()
    assert back == bundled
    assert version.status == ModelVersion.Status.RETIRED
    assert serving.engine_config().model_path == settings.WHISPER_MODEL
    kinds = list(ModelVersionEvent.objects.filter(version=version).values_list("kind", flat=True))
    assert kinds == ["rolled_back", "promoted", "registered"]


def test_a_directory_changed_since_registration_is_not_promoted(tmp_path):
    registry.model_version_bundled()
    directory = broken_model_dir(tmp_path / "changed")
    version = registry.model_version_register(name="changed", path=directory)
    (directory / "model.bin").write_bytes(b"something else")

    with pytest.raises(ApplicationError) as refused:
        registry.model_version_promote(version_id=version.id)
    assert refused.value.code == "model_checksum_mismatch"
    assert selectors.model_version_production().is_bundled


def test_registering_a_directory_without_a_model_is_refused(tmp_path):
    with pytest.raises(ApplicationError) as refused:
        registry.model_version_register(name="empty", path=tmp_path)
    assert refused.value.code == "model_directory_invalid"


def test_a_load_failure_rolls_the_registry_back_once(tmp_path):
    bundled = registry.model_version_bundled()
    broken = registry.model_version_register(
        name="broken", path=broken_model_dir(tmp_path / "broken")
    )
    registry.model_version_promote(version_id=broken.id)

    serving_now = registry.model_version_record_load_failure(
        version_id=broken.id, error="RuntimeError: bad model.bin", actor="worker a:1"
    )
    # A second worker hits the same failure a moment later: nothing more changes.
    again = registry.model_version_record_load_failure(
        version_id=broken.id, error="RuntimeError: bad model.bin", actor="worker b:2"
    )
    broken.refresh_from_db()
    assert serving_now == bundled
    assert again == bundled
    assert broken.status == ModelVersion.Status.CANDIDATE
    assert broken.load_error == "RuntimeError: bad model.bin"
    assert broken.load_failed_at is not None
    assert selectors.model_version_production() == bundled
    failures = ModelVersionEvent.objects.filter(version=broken, kind="load_failed")
    assert [e.actor for e in failures] == ["worker a:1"]


def test_the_production_version_cannot_be_retired():
    bundled = registry.model_version_bundled()
    with pytest.raises(ApplicationError) as refused:
        registry.model_version_retire(version_id=bundled.id)
    assert refused.value.code == "model_version_in_production"


def test_compare_two_versions_by_slice_and_by_clip():
    clip = {"audio": "a.wav", "language": "uz", "reference": "salom dunyo"}
    left = ModelVersionFactory(
        evaluation={
            "slices": [{"dimension": "language", "value": "uz", "wer": 0.9, "cer": 0.5}],
            "clips": [{**clip, "hypothesis": "salam dunya", "wer": 1.0}],
        }
    )
    right = ModelVersionFactory(
        evaluation={
            "slices": [
                {"dimension": "language", "value": "uz", "wer": 0.4, "cer": 0.2},
                {"dimension": "language", "value": "ru", "wer": 0.3, "cer": 0.1},
            ],
            "clips": [{**clip, "hypothesis": "salom dunyo", "wer": 0.0}],
        }
    )
    comparison = selectors.model_version_compare(left=left, right=right)
    uz, ru = comparison["slices"]
    assert uz["slice"] == "language=uz"
    assert uz["delta_wer"] == pytest.approx(-0.5)
    assert ru["left_wer"] is None
    assert ru["delta_wer"] is None
    assert comparison["clips"] == [
        {
            "audio": "a.wav",
            "language": "uz",
            "reference": "salom dunyo",
            "left_hypothesis": "salam dunya",
            "right_hypothesis": "salom dunyo",
            "left_wer": 1.0,
            "right_wer": 0.0,
            "delta_wer": -1.0,
        }
    ]

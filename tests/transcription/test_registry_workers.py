"""Promotion reaching running workers without a restart: a real Celery ASR worker and a real
stream worker process, the registry in PostgreSQL. A promoted version that fails to load leaves
the workers on the version before it, and the registry says so."""

from __future__ import annotations

import time

import pytest

from tests.factories import make_job
from tests.support import broken_model_dir, bundled_model_copy, wait_for_job
from transcription.models import Job, ModelVersion, ModelVersionEvent
from transcription.services import registry
from transcription.stream_client import file_frames, stream
from transcription.tasks import transcribe_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def transcribe_on_worker(user, clip) -> Job:
    job = make_job(owner=user, path=clip.path, language_requested="ru")
    transcribe_job.delay(str(job.id))
    job = wait_for_job(job.id, timeout=180)
    assert job.status == "done", job.error_message
    return job


def test_promotion_and_rollback_reach_a_running_asr_worker(
    user, celery_worker_process, ru_clip, tmp_path
):
    bundled = registry.model_version_bundled()
    assert transcribe_on_worker(user, ru_clip).model_id.startswith("whisper-base@")
    pid = celery_worker_process.proc.pid

    v2 = registry.model_version_register(
        name="v2", path=bundled_model_copy(tmp_path / "whisper-base-v2"), base=bundled
    )
    registry.model_version_promote(version_id=v2.id, actor="test")
    assert transcribe_on_worker(user, ru_clip).model_id.startswith("whisper-base-v2@")

    registry.model_version_rollback(actor="test")
    assert transcribe_on_worker(user, ru_clip).model_id.startswith("whisper-base@")
    assert celery_worker_process.proc.poll() is None
    assert celery_worker_process.proc.pid == pid  # the same process all along


def test_a_promoted_version_that_fails_to_load_leaves_the_worker_serving(
    user, celery_worker_process, ru_clip, tmp_path
):
    bundled = registry.model_version_bundled()
    broken = registry.model_version_register(
        name="broken", path=broken_model_dir(tmp_path / "broken-model")
    )
    registry.model_version_promote(version_id=broken.id, actor="test")

    job = transcribe_on_worker(user, ru_clip)

    assert job.model_id.startswith("whisper-base@")
    broken.refresh_from_db()
    assert broken.status == ModelVersion.Status.CANDIDATE
    assert broken.load_error.startswith("RuntimeError: Unsupported model binary version")
    assert broken.load_failed_at is not None
    assert ModelVersion.objects.get(status="production") == bundled
    failure = ModelVersionEvent.objects.get(version=broken, kind="load_failed")
    assert failure.actor.startswith("worker ")
    assert "serving whisper-base (bundled) again" in failure.message


def wait_for_log(process, text: str, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.output():
        assert process.proc.poll() is None, process.output()[-3000:]
        assert time.monotonic() < deadline, f"no {text!r}:\n{process.output()[-3000:]}"
        time.sleep(0.2)


@pytest.fixture
def ws_url(live_server_url):
    return live_server_url.replace("http://", "ws://") + "/ws/stream/"


def stream_clip(ws_url, token, clip) -> Job:
    done = stream(ws_url, file_frames(str(clip.path)), token=token.key, language="ru", speed=4)
    assert done["type"] == "done", done
    return Job.objects.get(id=done["job"])


def test_promotion_and_rollback_reach_a_running_stream_worker(
    ws_url, token, stream_worker, ru_clip, tmp_path
):
    bundled = registry.model_version_bundled()
    assert stream_clip(ws_url, token, ru_clip).model_id.startswith("whisper-base@")

    v2 = registry.model_version_register(
        name="v2-live", path=bundled_model_copy(tmp_path / "whisper-base-live"), base=bundled
    )
    registry.model_version_promote(version_id=v2.id)
    wait_for_log(stream_worker, "Stream worker now serving whisper-base-live@")
    assert stream_clip(ws_url, token, ru_clip).model_id.startswith("whisper-base-live@")

    registry.model_version_rollback()
    wait_for_log(stream_worker, "Stream worker now serving whisper-base@")
    assert stream_clip(ws_url, token, ru_clip).model_id.startswith("whisper-base@")
    assert stream_worker.proc.poll() is None


def test_a_stream_worker_keeps_serving_when_a_promoted_version_fails_to_load(
    ws_url, token, stream_worker, ru_clip, tmp_path
):
    bundled = registry.model_version_bundled()
    broken = registry.model_version_register(
        name="broken-live", path=broken_model_dir(tmp_path / "broken-live")
    )
    registry.model_version_promote(version_id=broken.id)
    wait_for_log(stream_worker, "Could not load model version broken-live")

    assert stream_clip(ws_url, token, ru_clip).model_id.startswith("whisper-base@")
    broken.refresh_from_db()
    assert broken.load_error.startswith("RuntimeError: Unsupported model binary version")
    assert ModelVersion.objects.get(status="production") == bundled

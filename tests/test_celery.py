"""The Celery app on the file broker, the embedded default, from a VAR_DIR that does not exist yet:
whichever comes first, the worker or a producer queueing a job, makes the broker's folders, and
the job is delivered."""

from __future__ import annotations

import subprocess
import time

import pytest
from django.conf import settings

from tests.factories import make_job
from tests.support import PYTHON, ROOT, ChildProcess, process_env, start_worker, wait_for_job
from transcription.models import Job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("first", ["producer", "worker"])
def test_a_job_queued_on_a_fresh_file_broker_is_delivered(first, user, ru_clip, tmp_path):
    var = tmp_path / "var"
    queue = f"asr-files-{time.monotonic_ns()}"
    env = {
        "CELERY_BROKER_URL": "filesystem://",
        "UZWHISPER_VAR_DIR": str(var),
        "WHISPER_MODEL": str(settings.WHISPER_MODEL),  # not under the fresh VAR_DIR
    }
    job = make_job(owner=user, path=ru_clip.path)

    def enqueue() -> None:
        """What the web process does once the upload is committed."""
        code = (
            "import django; django.setup();"
            "from transcription.services.jobs import job_enqueue;"
            f"job_enqueue(job_id='{job.id}')"
        )
        child_env = process_env(CELERY_ASR_QUEUE=queue, **env)
        subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=child_env, check=True)
        assert Job.objects.get(id=job.id).status != "failed", "the message was not written"

    worker: ChildProcess | None = None
    try:
        if first == "producer":
            enqueue()
            assert list((var / "broker" / "queue").iterdir())
            assert (var / "broker" / "control").is_dir()
            worker = start_worker("worker-file-broker", queue=queue, **env)
        else:
            worker = start_worker("worker-file-broker", queue=queue, **env)
            assert (var / "broker" / "queue").is_dir()
            enqueue()
        done = wait_for_job(job.id)
    finally:
        if worker is not None:
            worker.stop()
    assert done.status == "done", done.error_message
    assert "консоли" in " ".join(s.text for s in done.segments.all()).lower()

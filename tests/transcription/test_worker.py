"""Jobs run by a real Celery worker process with the bundled model, on PostgreSQL and a real
broker: the happy path, a second delivery, cancellation, and a worker killed mid-job."""

from __future__ import annotations

import time
from pathlib import Path

import jiwer
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from kombu import Connection

from tests.audio_helpers import concatenate
from tests.factories import make_job
from tests.support import CLIPS, start_worker, wait_for_job
from transcription.models import Job, Segment, Word
from transcription.tasks import transcribe_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """About 140 s of real Russian speech: several seconds of decoding to act on a running job."""
    names = ["demo-nogo", "status", "pls-hold-while-try", "vm-sorry"] * 6
    return concatenate([CLIPS[n].path for n in names], tmp_path_factory.mktemp("long") / "long.wav")


def test_upload_is_transcribed_by_the_worker(api_client, celery_worker_process, ru_clip):
    audio = SimpleUploadedFile("call.wav", ru_clip.path.read_bytes())
    response = api_client.post("/api/v1/jobs/", {"audio": audio}, format="multipart")
    assert response.status_code == 201
    job = wait_for_job(response.json()["id"])

    assert job.status == "done", job.error_message
    assert job.language_detected == "ru"
    assert job.language_probability > 0.9
    assert job.model_id.startswith("whisper-base@")
    assert job.progress == 1.0
    assert job.attempts == 1
    assert job.processing_s > 0
    assert job.real_time_factor == pytest.approx(job.processing_s / job.duration_s, rel=0.01)
    assert job.started_at <= job.finished_at
    segments = list(job.segments.order_by("index"))
    assert [s.index for s in segments] == list(range(len(segments)))
    text = " ".join(s.text for s in segments).lower()
    assert jiwer.cer(ru_clip.text.lower(), text) < 0.2
    assert Word.objects.filter(segment__job=job).count() >= 10
    srt = api_client.get(f"/api/v1/jobs/{job.id}/transcript/srt/").content.decode()
    assert srt.startswith("1\n00:00:00,000 --> ")


def test_a_second_delivery_changes_nothing(user, ru_clip):
    job = make_job(owner=user, path=ru_clip.path)
    transcribe_job.apply(args=[str(job.id)])
    first = Job.objects.get(id=job.id)
    first_segments = list(Segment.objects.filter(job=job).values_list("id", "text"))
    assert first.status == "done"
    assert first_segments

    transcribe_job.apply(args=[str(job.id)])  # the broker delivers the same message again
    second = Job.objects.get(id=job.id)
    assert second.attempts == 1
    assert second.finished_at == first.finished_at
    assert list(Segment.objects.filter(job=job).values_list("id", "text")) == first_segments


def test_a_task_for_a_deleted_job_is_logged_and_dropped(user, ru_clip, caplog):
    job = make_job(owner=user, path=ru_clip.path)
    job_id = str(job.id)
    job.delete()
    transcribe_job.apply(args=[job_id])
    assert "vanished" in caplog.text


def test_cancelling_a_running_job_stops_it_at_the_next_segment(
    api_client, celery_worker_process, long_clip
):
    audio = SimpleUploadedFile("long.wav", long_clip.read_bytes())
    job_id = api_client.post("/api/v1/jobs/", {"audio": audio}, format="multipart").json()["id"]
    deadline = time.monotonic() + 60
    while not Segment.objects.filter(job_id=job_id).exists():
        assert time.monotonic() < deadline, "no segment within 60 s"
        time.sleep(0.1)
    response = api_client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert response.status_code == 200
    kept = Segment.objects.filter(job_id=job_id).count()
    time.sleep(4)  # long enough for several more segments had it gone on
    job = Job.objects.get(id=job_id)
    assert job.status == "cancelled"
    assert job.progress < 0.9
    # At most the segment being decoded when the cancel landed was still stored.
    assert Segment.objects.filter(job_id=job_id).count() <= kept + 1
    assert api_client.get(f"/api/v1/jobs/{job_id}/transcript/txt/").status_code == 409


@pytest.mark.slow
def test_a_killed_worker_job_is_taken_over_and_finishes_once(user, long_clip, settings):
    """RabbitMQ puts an unacknowledged task back the moment its worker's connection drops; the
    new worker waits out the dead one's lease, clears its partial transcript and finishes."""
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    queue = f"asr-kill-{time.monotonic_ns()}"
    job = make_job(owner=user, path=long_clip)
    first = start_worker("worker-killed", queue=queue, CELERY_BROKER_URL=amqp)
    # An explicit connection: Celery would take CELERY_BROKER_URL (Redis here) from the env.
    connection = Connection(amqp)
    try:
        transcribe_job.apply_async(args=[str(job.id)], queue=queue, connection=connection)
        deadline = time.monotonic() + 60
        while not Segment.objects.filter(job=job).exists():
            assert time.monotonic() < deadline, first.output()[-2000:]
            time.sleep(0.1)
        first.kill()
        partial = Job.objects.get(id=job.id)
        assert partial.status == "running"
        assert partial.progress < 1

        second = start_worker("worker-takeover", queue=queue, CELERY_BROKER_URL=amqp)
        try:
            done = wait_for_job(job.id, timeout=120)
        finally:
            second.stop()
    finally:
        first.stop()
        connection.default_channel.queue_delete(queue)
        connection.release()
    assert done.status == "done", done.error_message
    assert done.attempts == 2
    segments = list(Segment.objects.filter(job=job).order_by("index"))
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[-1].end > 130  # the whole recording, not the part before the kill
    assert len({s.start for s in segments}) == len(segments)  # nothing stored twice


def test_a_job_left_running_by_a_dead_worker_is_queued_again(user, ru_clip, celery_worker_process):
    from datetime import timedelta

    from django.utils import timezone

    from transcription.services.jobs import jobs_requeue_stale

    long_ago = timezone.now() - timedelta(minutes=10)
    abandoned = make_job(owner=user, path=ru_clip.path, status="running", heartbeat_at=long_ago)
    alive = make_job(owner=user, path=ru_clip.path, status="running", heartbeat_at=timezone.now())

    assert jobs_requeue_stale() == [abandoned.id]
    done = wait_for_job(abandoned.id)
    assert done.status == "done"
    assert done.attempts == 1
    assert Job.objects.get(id=alive.id).status == "running"

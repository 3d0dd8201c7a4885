"""A worker's claim on a job and its lease (services/runs.py `job_claim`), and queueing again
the jobs whose worker died (services/jobs.py `jobs_requeue_stale`, the other half of the lease):
straight against the database, one step at a time, with no worker and no broker."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import JobFactory, SegmentFactory, WordFactory
from transcription.models import Job, Segment, Word
from transcription.services import jobs as job_services
from transcription.services import runs
from transcription.services.jobs import jobs_requeue_stale
from transcription.services.runs import MAX_ATTEMPTS, JobBusy, job_claim

pytestmark = pytest.mark.django_db

LEASE_SECONDS = 60
# Far enough from the lease's end that the time a test takes cannot move a job across it.
WELL_WITHIN = timedelta(seconds=LEASE_SECONDS - 20)
WELL_PAST = timedelta(seconds=LEASE_SECONDS + 20)

FINISHED = [Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED]


@pytest.fixture(autouse=True)
def lease(settings) -> None:
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS


@pytest.fixture
def published(monkeypatch) -> list[uuid.UUID]:
    """The jobs whose status a claim announced to their pages, in order."""
    calls: list[uuid.UUID] = []
    monkeypatch.setattr(runs, "job_publish_status", calls.append)
    return calls


@pytest.fixture
def enqueued(monkeypatch) -> list[uuid.UUID]:
    """The jobs handed to the broker (by task name, `job_enqueue`), recorded instead of sent."""
    calls: list[uuid.UUID] = []
    monkeypatch.setattr(job_services, "job_enqueue", lambda *, job_id: calls.append(job_id))
    return calls


def running_job(*, heartbeat_age: timedelta | None, attempts: int = 1, **fields) -> Job:
    """A job a worker took, whose lease it last renewed `heartbeat_age` ago (None: never)."""
    now = timezone.now()
    return JobFactory(
        status=Job.Status.RUNNING,
        attempts=attempts,
        started_at=now - (heartbeat_age or timedelta()),
        heartbeat_at=None if heartbeat_age is None else now - heartbeat_age,
        progress=0.4,
        **fields,
    )


def partial_transcript(job: Job) -> None:
    """What a worker stored before it died: two segments of words."""
    for index in range(2):
        segment = SegmentFactory(job=job, index=index)
        WordFactory.create_batch(2, segment=segment)


def frozen_clock(monkeypatch, at: datetime) -> None:
    """Stop the clock `job_claim` reads at `at`, so lease arithmetic is exact."""
    monkeypatch.setattr(runs.timezone, "now", lambda: at)


# --- job_claim ----------------------------------------------------------------------------


def test_a_queued_job_is_claimed_once(published):
    job = JobFactory()
    before = timezone.now()

    claimed = job_claim(job_id=str(job.id))  # as the task receives it

    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.status == Job.Status.RUNNING
    assert claimed.attempts == 1
    assert claimed.progress == 0.0
    assert before <= claimed.started_at == claimed.heartbeat_at <= timezone.now()
    assert published == [job.id]

    # The same task delivered again while the first run holds the lease: nothing changes.
    with pytest.raises(JobBusy):
        job_claim(job_id=job.id)
    again = Job.objects.get(id=job.id)
    assert (again.status, again.attempts, again.heartbeat_at) == (
        Job.Status.RUNNING,
        1,
        claimed.heartbeat_at,
    )
    assert published == [job.id]


@pytest.mark.parametrize(
    ("heartbeat_age", "retry_in"),
    [
        (timedelta(0), LEASE_SECONDS),
        (timedelta(seconds=20), LEASE_SECONDS - 20),
        (timedelta(seconds=LEASE_SECONDS - 0.5), 1.0),  # never sooner than a second
        (timedelta(seconds=LEASE_SECONDS), 1.0),  # a lease ends after, not at, its last second
    ],
)
def test_a_job_under_a_live_lease_is_left_to_its_worker_until_the_lease_ends(
    monkeypatch, published, heartbeat_age, retry_in
):
    job = running_job(heartbeat_age=None)
    partial_transcript(job)
    now = timezone.now()
    Job.objects.filter(id=job.id).update(heartbeat_at=now - heartbeat_age)
    frozen_clock(monkeypatch, now)

    with pytest.raises(JobBusy) as busy:
        job_claim(job_id=job.id)

    assert busy.value.retry_in == pytest.approx(retry_in)
    unchanged = Job.objects.get(id=job.id)
    assert (unchanged.attempts, unchanged.progress) == (1, 0.4)
    assert unchanged.heartbeat_at == now - heartbeat_age
    assert Segment.objects.filter(job=job).count() == 2
    assert published == []


@pytest.mark.parametrize("heartbeat_age", [WELL_PAST, None], ids=["lease-lapsed", "never-beat"])
def test_a_running_job_whose_worker_went_silent_is_taken_over_from_scratch(
    published, heartbeat_age
):
    job = running_job(heartbeat_age=heartbeat_age)
    partial_transcript(job)
    before = timezone.now()

    claimed = job_claim(job_id=job.id)

    assert claimed is not None
    assert claimed.status == Job.Status.RUNNING
    assert claimed.attempts == 2
    assert claimed.progress == 0.0
    assert before <= claimed.heartbeat_at <= timezone.now()
    assert claimed.started_at == claimed.heartbeat_at
    assert not Segment.objects.filter(job=job).exists()
    assert not Word.objects.filter(segment__job=job).exists()
    assert published == [job.id]
    # The new lease is the new worker's: another delivery now waits for it.
    with pytest.raises(JobBusy):
        job_claim(job_id=job.id)


def test_a_job_is_taken_over_up_to_the_last_attempt():
    job = running_job(heartbeat_age=WELL_PAST, attempts=MAX_ATTEMPTS - 1)

    claimed = job_claim(job_id=job.id)

    assert claimed is not None
    assert (claimed.status, claimed.attempts) == (Job.Status.RUNNING, MAX_ATTEMPTS)


def test_a_job_whose_workers_died_on_every_attempt_fails_as_worker_lost(published):
    job = running_job(heartbeat_age=WELL_PAST, attempts=MAX_ATTEMPTS)

    assert job_claim(job_id=job.id) is None

    failed = Job.objects.get(id=job.id)
    assert failed.status == Job.Status.FAILED
    assert failed.error_code == "worker_lost"
    assert f"{MAX_ATTEMPTS} times" in failed.error_message
    assert failed.attempts == MAX_ATTEMPTS + 1
    assert failed.finished_at is not None
    assert published == []  # not announced as running; job_mark_failed announces the failure
    # Finished now: a later delivery does nothing.
    assert job_claim(job_id=job.id) is None
    assert Job.objects.get(id=job.id).attempts == MAX_ATTEMPTS + 1


@pytest.mark.parametrize("status", FINISHED)
def test_a_finished_or_cancelled_job_is_not_claimed(published, status):
    long_ago = timezone.now() - WELL_PAST
    job = JobFactory(status=status, attempts=1, started_at=long_ago, heartbeat_at=long_ago)
    partial_transcript(job)

    assert job_claim(job_id=job.id) is None

    unchanged = Job.objects.get(id=job.id)
    assert (unchanged.status, unchanged.attempts, unchanged.heartbeat_at) == (status, 1, long_ago)
    assert Segment.objects.filter(job=job).count() == 2
    assert published == []


def test_a_job_deleted_before_its_task_ran_is_not_claimed(published):
    job = JobFactory()
    job_id = job.id
    job.delete()

    assert job_claim(job_id=job_id) is None
    assert job_claim(job_id=uuid.uuid4()) is None
    assert published == []


# --- jobs_requeue_stale -------------------------------------------------------------------


def test_only_running_jobs_past_their_lease_are_queued_again(enqueued):
    long_ago = timezone.now() - WELL_PAST
    JobFactory()  # queued: its delivery is still on its way
    alive = running_job(heartbeat_age=WELL_WITHIN)
    lapsed = running_job(heartbeat_age=WELL_PAST)
    never_beat = running_job(heartbeat_age=None)
    for status in FINISHED:
        JobFactory(status=status, started_at=long_ago, heartbeat_at=long_ago)

    stale = jobs_requeue_stale()

    assert sorted(stale) == sorted([lapsed.id, never_beat.id])
    assert sorted(enqueued) == sorted(stale)  # each once
    # Queueing again changes no row: the claim does that, once a worker takes the task.
    for job in (alive, lapsed, never_beat):
        row = Job.objects.get(id=job.id)
        assert (row.status, row.attempts, row.heartbeat_at) == (
            Job.Status.RUNNING,
            1,
            job.heartbeat_at,
        )


def test_nothing_is_queued_again_while_every_lease_is_live(enqueued):
    running_job(heartbeat_age=WELL_WITHIN)
    JobFactory()

    assert jobs_requeue_stale() == []
    assert enqueued == []


def test_a_job_queued_again_runs_once_however_many_deliveries_arrive(enqueued):
    """Queueing again is harmless when the broker redelivers too: the claim lets one run."""
    job = running_job(heartbeat_age=WELL_PAST)
    partial_transcript(job)

    assert jobs_requeue_stale() == [job.id]
    redelivered = job_claim(job_id=job.id)
    assert redelivered is not None
    with pytest.raises(JobBusy):
        job_claim(job_id=job.id)  # the broker's own redelivery of the same task

    assert Job.objects.get(id=job.id).attempts == 2
    assert jobs_requeue_stale() == []  # the new worker holds a live lease
    assert enqueued == [job.id]

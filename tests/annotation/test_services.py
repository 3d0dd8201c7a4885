"""The task lifecycle as services: handing out and locking, lock expiry, versions, submit,
review, and task creation from jobs, clips and manifests."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Review, Task
from annotation.selectors import annotator_figures, review_view
from annotation.services import (
    annotation_release,
    annotation_save_draft,
    annotation_submit,
    review_decide,
    task_compute_peaks,
    task_next_for_annotator,
    tasks_create_from_clips,
    tasks_create_from_jobs,
    tasks_import_manifest,
)
from tests.factories import (
    AnnotationFactory,
    ClipFactory,
    TaskFactory,
    UserFactory,
    annotator_user,
    make_job,
    make_segment,
    reviewer_user,
)
from uzwhisper.errors import ApplicationError

pytestmark = pytest.mark.django_db


def _segments(annotation, **changes):
    segments = [dict(s) for s in annotation.segments]
    segments[0].update(changes)
    return segments


def _code(excinfo) -> str:
    return excinfo.value.code


def test_next_task_is_locked_to_one_annotator_and_the_second_gets_another():
    first, second = TaskFactory(), TaskFactory()
    alice, bob = annotator_user(), annotator_user()
    mine = task_next_for_annotator(user=alice)
    theirs = task_next_for_annotator(user=bob)
    assert mine.task_id == first.id
    assert theirs.task_id == second.id
    assert mine.locked_until > timezone.now()
    # Asking again returns the same draft, not a new task.
    assert task_next_for_annotator(user=alice).id == mine.id
    assert task_next_for_annotator(user=annotator_user()) is None


def test_a_lapsed_lock_hands_the_task_over_and_keeps_the_draft():
    TaskFactory()
    alice, bob = annotator_user(), annotator_user()
    draft = task_next_for_annotator(user=alice)
    draft = annotation_save_draft(
        user=alice,
        annotation_id=draft.id,
        version=draft.version,
        segments=_segments(draft, text="Подключение к серверу базы"),
    )
    assert task_next_for_annotator(user=bob) is None  # still locked to alice
    Annotation.objects.filter(id=draft.id).update(locked_until=timezone.now() - timedelta(1))

    taken = task_next_for_annotator(user=bob)
    assert taken.task_id == draft.task_id
    assert taken.segments[0]["text"] == "Подключение к серверу базы"  # seeded from her draft
    draft.refresh_from_db()
    assert draft.status == "expired"
    with pytest.raises(ApplicationError) as excinfo:
        annotation_save_draft(
            user=alice, annotation_id=draft.id, version=draft.version, segments=draft.segments
        )
    assert _code(excinfo) == "lock_lost"
    assert excinfo.value.status_code == 409


def test_a_lapsed_lock_nobody_took_is_renewed_by_its_annotator():
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    Annotation.objects.filter(id=draft.id).update(locked_until=timezone.now() - timedelta(1))
    saved = annotation_save_draft(
        user=alice, annotation_id=draft.id, version=draft.version, segments=draft.segments
    )
    assert saved.locked_until > timezone.now()
    assert saved.status == "in_progress"


def test_a_stale_version_is_refused_and_nothing_is_overwritten():
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    newer = annotation_save_draft(
        user=alice, annotation_id=draft.id, version=1, segments=_segments(draft, text="новый")
    )
    assert newer.version == 2
    with pytest.raises(ApplicationError) as excinfo:
        annotation_save_draft(
            user=alice, annotation_id=draft.id, version=1, segments=_segments(draft, text="old")
        )
    assert _code(excinfo) == "stale_version"
    assert excinfo.value.details["current_version"] == 2
    draft.refresh_from_db()
    assert draft.segments[0]["text"] == "новый"
    assert draft.version == 2


@pytest.mark.parametrize(
    ("segments", "final", "message"),
    [
        ([{"start": 2.0, "end": 1.0, "text": "x"}], False, "not after its start"),
        ([{"start": 1.0, "end": 1.0, "text": "x"}], False, "not after its start"),
        ([{"start": -0.5, "end": 1.0, "text": "x"}], False, "starts before the audio"),
        ([{"start": 0.0, "end": 99.0, "text": "x"}], False, "after the audio"),
        (
            [{"start": 0, "end": 3, "text": "a"}, {"start": 2, "end": 4, "text": "b"}],
            False,
            "overlap",
        ),
        ([{"start": 0.0, "end": 1.0, "text": "  "}], True, "has no text"),
        ([], True, "no segments"),
        (
            [{"start": 0.0, "end": 1.0, "text": "x", "words": [{"text": "x", "language": "de"}]}],
            False,
            "language",
        ),
    ],
)
def test_segments_that_break_the_rules_are_refused(segments, final, message):
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    save = annotation_submit if final else annotation_save_draft
    with pytest.raises(ApplicationError) as excinfo:
        save(user=alice, annotation_id=draft.id, version=1, segments=segments)
    assert _code(excinfo) == "invalid_segments"
    assert message in excinfo.value.message
    draft.refresh_from_db()
    assert draft.version == 1


def test_overlap_is_allowed_between_two_speakers_and_untranscribable_needs_no_text():
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    segments = [
        {"start": 0, "end": 3, "text": "salom dunyo", "speaker": "A"},
        {"start": 2, "end": 4, "text": "привет", "speaker": "B"},
        {"start": 5, "end": 6, "text": "", "untranscribable": True},
    ]
    done = annotation_submit(user=alice, annotation_id=draft.id, version=1, segments=segments)
    assert done.status == "submitted"
    assert [w["language"] for w in done.segments[0]["words"]] == ["uz", "uz"]
    assert done.segments[1]["words"] == [{"text": "привет", "language": "ru"}]
    assert Task.objects.get(id=draft.task_id).status == "review"


def test_a_corrected_word_tag_is_kept_and_a_changed_word_is_tagged_again():
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    segments = [
        {
            "start": 0,
            "end": 3,
            "text": "Подключение к dunyo",
            "words": [
                {"text": "Подключение", "language": "other"},  # corrected by hand
                {"text": "к", "language": "ru"},
                {"text": "серверу", "language": "ru"},  # the text changed under it
            ],
        },
        {
            "start": 4,
            "end": 6,
            "text": "через salom",
            "words": [
                {"text": "через", "language": "other"},  # corrected by hand
                {"text": "salom", "language": None},  # typed since the last save
            ],
        },
    ]
    saved = annotation_save_draft(user=alice, annotation_id=draft.id, version=1, segments=segments)
    tags = [w["language"] for w in saved.segments[0]["words"]]
    assert tags[:2] == ["other", "ru"]
    assert saved.segments[0]["words"][2]["text"] == "dunyo"
    assert saved.segments[1]["words"] == [
        {"text": "через", "language": "other"},
        {"text": "salom", "language": "uz"},
    ]


def test_reject_sends_it_back_then_approve_and_figures():
    task = TaskFactory()
    alice, rita = annotator_user(), reviewer_user()
    draft = task_next_for_annotator(user=alice)
    submitted = annotation_submit(
        user=alice,
        annotation_id=draft.id,
        version=1,
        segments=_segments(draft, text="Подключение к серверу!"),
    )
    assert submitted.edit_rate == 0.0  # punctuation only: normalised away

    with pytest.raises(ApplicationError) as excinfo:
        review_decide(reviewer=rita, annotation_id=draft.id, decision="reject")
    assert _code(excinfo) == "comment_required"
    review_decide(reviewer=rita, annotation_id=draft.id, decision="reject", comment="Fix seg 2")
    task.refresh_from_db()
    assert task.status == "open"

    again = task_next_for_annotator(user=alice)
    assert again.id == draft.id
    assert again.status == "in_progress"
    assert task_next_for_annotator(user=annotator_user()) is None  # the place is hers
    fixed = annotation_submit(
        user=alice,
        annotation_id=draft.id,
        version=again.version,
        segments=[dict(again.segments[0]), {**again.segments[1], "text": "через консоль"}],
    )
    assert fixed.edit_rate == pytest.approx(0.2)  # 1 of 5 words
    review = review_decide(reviewer=rita, annotation_id=draft.id, decision="approve")
    assert review.wer == pytest.approx(0.2)
    task.refresh_from_db()
    assert task.status == "approved"
    [figures] = annotator_figures()
    assert figures.username == alice.username
    assert figures.approved == 1
    assert figures.rejected_reviews == 1


def test_nobody_reviews_their_own_work_and_roles_are_required():
    TaskFactory()
    both = annotator_user()
    from annotation.roles import grant_role

    grant_role(both, "reviewer")
    draft = task_next_for_annotator(user=both)
    annotation_submit(user=both, annotation_id=draft.id, version=1, segments=draft.segments)
    with pytest.raises(ApplicationError) as excinfo:
        review_decide(reviewer=both, annotation_id=draft.id, decision="approve")
    assert _code(excinfo) == "own_annotation"
    volunteer = UserFactory()
    with pytest.raises(ApplicationError) as excinfo:
        task_next_for_annotator(user=volunteer)
    assert excinfo.value.status_code == 403
    with pytest.raises(ApplicationError):
        review_decide(reviewer=annotator_user(), annotation_id=draft.id, decision="approve")


def test_blind_double_annotation_goes_to_review_when_both_are_in_with_agreement():
    task = TaskFactory(required_annotations=2)
    alice, bob = annotator_user(), annotator_user()
    a = task_next_for_annotator(user=alice)
    b = task_next_for_annotator(user=bob)
    assert a.task_id == b.task_id == task.id
    assert task_next_for_annotator(user=annotator_user()) is None
    annotation_submit(user=alice, annotation_id=a.id, version=1, segments=a.segments)
    assert Task.objects.get(id=task.id).status == "open"
    segments = [a.segments[0], {**a.segments[1], "text": "через консоль"}]
    annotation_submit(user=bob, annotation_id=b.id, version=1, segments=segments)
    assert Task.objects.get(id=task.id).status == "review"
    view = review_view(task=task)
    assert view.agreement == pytest.approx(0.8)
    review = review_decide(reviewer=reviewer_user(), annotation_id=a.id, decision="approve")
    assert review.agreement == pytest.approx(0.8)


def test_release_gives_the_task_back_with_the_draft():
    TaskFactory()
    alice, bob = annotator_user(), annotator_user()
    draft = task_next_for_annotator(user=alice)
    saved = annotation_save_draft(
        user=alice, annotation_id=draft.id, version=1, segments=_segments(draft, text="бир")
    )
    annotation_release(user=alice, annotation_id=draft.id, version=saved.version)
    taken = task_next_for_annotator(user=bob)
    assert taken.segments[0]["text"] == "бир"


def test_tasks_from_a_done_job_a_validated_clip_and_a_manifest(ru_clip, uz_clip, tmp_path):
    admin = UserFactory(is_staff=True)
    job = make_job(owner=UserFactory(), path=ru_clip.path, status="done")
    make_segment(job=job, index=0, start=0.0, end=2.0, words=[(" Подключение", "ru"), (" к", "ru")])
    [from_job] = tasks_create_from_jobs(job_ids=[job.id], created_by=admin)
    assert from_job.machine_segments[0]["text"] == "Подключение к"
    assert from_job.audio.name == job.audio.name
    queued = make_job(owner=UserFactory(), path=ru_clip.path)
    with pytest.raises(ApplicationError) as excinfo:
        tasks_create_from_jobs(job_ids=[queued.id], created_by=admin)
    assert _code(excinfo) == "job_not_done"

    clip = ClipFactory(status="validated")
    [from_clip] = tasks_create_from_clips(clip_ids=[clip.id], created_by=admin)
    assert from_clip.machine_segments[0]["text"] == clip.prompt.text
    assert from_clip.speaker_key == clip.volunteer.pseudonym.hex
    with pytest.raises(ApplicationError):
        tasks_create_from_clips(clip_ids=[ClipFactory().id], created_by=admin)  # pending

    manifest = tmp_path / "import.jsonl"
    manifest.write_text(
        "\n".join(
            [
                json.dumps({"audio": str(uz_clip.path), "text": uz_clip.text, "language": "uz"}),
                json.dumps({"audio": "missing.wav", "text": "x", "language": "uz"}),
                json.dumps({"audio": str(uz_clip.path), "text": "", "language": "uz"}),
                "not json",
            ]
        ),
        encoding="utf-8",
    )
    result = tasks_import_manifest(path=manifest, created_by=None, required_annotations=2)
    assert len(result.tasks) == 2
    assert result.tasks[0].required_annotations == 2
    assert result.tasks[1].machine_segments == []  # no transcript: the annotator writes it
    assert [r.split(":")[0] for r in result.refused] == ["line 2", "line 4"]


def test_peaks_are_computed_once_and_a_missing_file_is_reported():
    task = TaskFactory()
    done = task_compute_peaks(task_id=task.id)
    assert done.peaks_per_second == 100
    assert done.peaks_duration_s == pytest.approx(10.54, abs=0.02)
    assert done.peaks.size == pytest.approx(1054, abs=3)
    name = done.peaks.name
    assert task_compute_peaks(task_id=task.id).peaks.name == name  # delivered twice: same

    gone = TaskFactory()
    gone.audio.storage.delete(gone.audio.name)
    assert task_compute_peaks(task_id=gone.id).peaks_error == "The audio of this task is gone."
    assert task_compute_peaks(task_id="00000000-0000-0000-0000-000000000000") is None


def test_review_is_recorded():
    TaskFactory()
    alice = annotator_user()
    draft = task_next_for_annotator(user=alice)
    annotation_submit(user=alice, annotation_id=draft.id, version=1, segments=draft.segments)
    review_decide(reviewer=reviewer_user(), annotation_id=draft.id, decision="approve")
    assert Review.objects.get().version == 2


def test_peaks_are_computed_on_the_default_queue_not_the_model_workers():
    from django.conf import settings

    from uzwhisper.celery import app

    route = app.amqp.router.route({}, "annotation.tasks.compute_task_peaks")
    assert route["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE
    assert route["queue"].name != settings.CELERY_ASR_QUEUE


def test_a_draft_in_progress_comes_before_one_sent_back():
    first, second = TaskFactory(), TaskFactory()
    alice = annotator_user()
    rejected = task_next_for_annotator(user=alice)
    annotation_submit(user=alice, annotation_id=rejected.id, version=1, segments=rejected.segments)
    review_decide(
        reviewer=reviewer_user(), annotation_id=rejected.id, decision="reject", comment="x"
    )
    # The task reopened for her alone; meanwhile she is working on another one.
    Annotation.objects.filter(id=rejected.id).update(saved_at=timezone.now())
    current = AnnotationFactory(task=second, annotator=alice)
    assert task_next_for_annotator(user=alice).id == current.id
    assert first.id == rejected.task_id


def test_create_annotation_tasks_command(uz_clip, tmp_path):
    from django.core.management import CommandError, call_command

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps({"audio": str(uz_clip.path), "text": uz_clip.text, "language": "uz"}) + "\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("create_annotation_tasks", "--manifest", str(manifest), "--double", stdout=out)
    assert "Made 1 annotation task(s)." in out.getvalue()
    assert Task.objects.get().required_annotations == 2
    with pytest.raises(CommandError, match="Not finished transcription jobs"):
        call_command("create_annotation_tasks", "--jobs", "00000000-0000-0000-0000-000000000001")

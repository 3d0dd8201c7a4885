"""The admins' progress figures (collection.selectors.collection_progress) from factory-made
clips, exactly; and that each breakdown is one query, however many rows."""

from __future__ import annotations

import pytest

from collection.models import Clip
from collection.selectors import ProgressRow, collection_progress
from tests.factories import ClipFactory, PromptFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def make_clips() -> None:
    tashkent = VolunteerFactory(dialect="tashkent", gender="female", age_band="twenties")
    khorezm = VolunteerFactory(dialect="khorezm", gender="male", age_band="forties")
    russian = PromptFactory(language="ru", text="Оставайтесь на линии.")
    # Tashkent, Uzbek: two validated (3 s + 5 s), one pending, one invalidated.
    ClipFactory(volunteer=tashkent, status=Clip.Status.VALIDATED, duration_s=3.0)
    ClipFactory(volunteer=tashkent, status=Clip.Status.VALIDATED, duration_s=5.0)
    ClipFactory(volunteer=tashkent, status=Clip.Status.PENDING, duration_s=4.0)
    ClipFactory(volunteer=tashkent, status=Clip.Status.INVALIDATED, duration_s=2.0)
    # Khorezm, Russian prompt: one validated 7 200 s (two hours), two pending.
    ClipFactory(volunteer=khorezm, prompt=russian, status=Clip.Status.VALIDATED, duration_s=7200.0)
    ClipFactory(volunteer=khorezm, prompt=russian, status=Clip.Status.PENDING, duration_s=6.0)
    ClipFactory(volunteer=khorezm, prompt=russian, status=Clip.Status.PENDING, duration_s=6.0)
    # A speaker who gave no dialect: the clip keeps the profile as it was when recorded.
    anonymous = VolunteerFactory(dialect="", gender="undisclosed", age_band="")
    ClipFactory(volunteer=anonymous, status=Clip.Status.VALIDATED, duration_s=10.0)
    # Not counted: still being checked, not confirmed by its speaker, refused by the checks.
    for status in (Clip.Status.CHECKING, Clip.Status.UNCONFIRMED, Clip.Status.REFUSED):
        ClipFactory(volunteer=tashkent, status=status, duration_s=100.0)


def test_totals_and_every_breakdown_are_exact():
    make_clips()
    progress = collection_progress()

    assert progress.total == ProgressRow(
        key="",
        validated_clips=4,
        validated_seconds=7218.0,
        pending_clips=3,
        invalidated_clips=1,
    )
    assert progress.total.validated_hours == pytest.approx(2.005)
    assert progress.volunteers == 3

    assert progress.by_dialect == [
        ProgressRow("khorezm", 1, 7200.0, 2, 0),
        ProgressRow("", 1, 10.0, 0, 0),
        ProgressRow("tashkent", 2, 8.0, 1, 1),
    ]
    assert progress.by_gender == [
        ProgressRow("male", 1, 7200.0, 2, 0),
        ProgressRow("undisclosed", 1, 10.0, 0, 0),
        ProgressRow("female", 2, 8.0, 1, 1),
    ]
    assert progress.by_age_band == [
        ProgressRow("forties", 1, 7200.0, 2, 0),
        ProgressRow("", 1, 10.0, 0, 0),
        ProgressRow("twenties", 2, 8.0, 1, 1),
    ]
    assert progress.by_language == [
        ProgressRow("ru", 1, 7200.0, 2, 0),
        ProgressRow("uz", 3, 18.0, 1, 1),
    ]


def test_the_speakers_profile_at_recording_time_counts_not_their_profile_now():
    volunteer = VolunteerFactory(dialect="fergana")
    ClipFactory(volunteer=volunteer, status=Clip.Status.VALIDATED, duration_s=4.0)
    volunteer.dialect = "khorezm"
    volunteer.save()
    assert [row.key for row in collection_progress().by_dialect] == ["fergana"]


def test_nothing_collected_is_all_zeros():
    progress = collection_progress()
    assert progress.total == ProgressRow("", 0, 0.0, 0, 0)
    assert progress.by_dialect == []
    assert progress.volunteers == 0


def test_one_query_for_the_totals_and_one_per_breakdown(django_assert_num_queries):
    make_clips()
    for _ in range(5):
        ClipFactory(volunteer=VolunteerFactory(dialect="other"), status=Clip.Status.PENDING)
    with django_assert_num_queries(5):
        collection_progress()

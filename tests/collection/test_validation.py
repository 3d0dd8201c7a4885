"""Common Voice's validation rules, through the collection services against the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collection.models import Clip, Prompt, Report, Vote
from collection.selectors import (
    prompts_for_recording,
    validators_disagreement,
    validators_to_review,
)
from collection.services import (
    PromptRow,
    clip_verdict,
    clips_lease_for_validation,
    prompt_dedup_key,
    prompt_report,
    prompts_ban,
    prompts_import,
    vote_cast,
)
from tests.factories import ClipFactory, PromptFactory, VolunteerFactory, VoteFactory
from uzwhisper.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("up", "down", "verdict"),
    [
        (0, 0, "pending"),
        (1, 0, "pending"),  # one vote never decides
        (0, 1, "pending"),
        (2, 0, "validated"),
        (0, 2, "invalidated"),
        (1, 1, "pending"),  # a tie waits for another vote
        (2, 1, "validated"),
        (1, 2, "invalidated"),
        (2, 2, "pending"),
    ],
)
def test_two_votes_and_a_majority_decide(up, down, verdict):
    assert clip_verdict(up=up, down=down) == verdict


def test_a_clip_is_validated_by_two_up_votes_and_a_tie_waits():
    clip = ClipFactory()
    first, second, third = VolunteerFactory.create_batch(3)
    assert vote_cast(clip_id=clip.id, voter=first, is_valid=True).status == "pending"
    assert vote_cast(clip_id=clip.id, voter=second, is_valid=False).status == "pending"
    decided = vote_cast(clip_id=str(clip.id), voter=third, is_valid=True)
    assert (decided.status, decided.up_votes, decided.down_votes) == ("validated", 2, 1)
    with pytest.raises(ApplicationError) as refused:
        vote_cast(clip_id=clip.id, voter=VolunteerFactory(), is_valid=False)
    assert refused.value.code == "clip_decided"


def test_a_double_tap_counts_once_and_says_so():
    clip = ClipFactory()
    voter = VolunteerFactory()
    vote_cast(clip_id=clip.id, voter=voter, is_valid=True)
    with pytest.raises(ApplicationError) as again:
        vote_cast(clip_id=clip.id, voter=voter, is_valid=True)
    assert again.value.code == "already_voted"
    clip.refresh_from_db()
    assert (clip.up_votes, Vote.objects.filter(clip=clip).count()) == (1, 1)


def test_nobody_validates_their_own_clip():
    clip = ClipFactory()
    with pytest.raises(ApplicationError) as refused:
        vote_cast(clip_id=clip.id, voter=clip.volunteer, is_valid=True)
    assert refused.value.code == "own_clip"
    assert not Vote.objects.exists()


def test_a_discounted_validators_vote_is_kept_but_not_counted():
    clip = ClipFactory()
    doubtful = VolunteerFactory(votes_discounted=True)
    clip = vote_cast(clip_id=clip.id, voter=doubtful, is_valid=False)
    assert (clip.up_votes, clip.down_votes) == (0, 0)
    assert Vote.objects.get(voter=doubtful).counted is False


def test_clips_with_the_fewest_votes_come_first_and_are_leased_to_one_validator():
    old_with_vote, fresh, older_fresh = ClipFactory.create_batch(3)
    Clip.objects.filter(id=older_fresh.id).update(created_at=timezone.now() - timedelta(hours=1))
    vote_cast(clip_id=old_with_vote.id, voter=VolunteerFactory(), is_valid=True)
    mine = ClipFactory()
    validator = VolunteerFactory()
    Clip.objects.filter(id=mine.id).update(volunteer=validator)

    offered = clips_lease_for_validation(validator=validator, limit=2)
    assert [c.id for c in offered] == [older_fresh.id, fresh.id]  # no votes, oldest first
    assert all(c.leased_to_id == validator.id for c in offered)

    # A second validator does not get the clips leased to the first, nor anyone their own.
    other = VolunteerFactory()
    assert [c.id for c in clips_lease_for_validation(validator=other, limit=5)] == [
        mine.id,
        old_with_vote.id,
    ]
    # The lease lapses: the clip is offered again.
    Clip.objects.filter(id=fresh.id).update(leased_until=timezone.now() - timedelta(seconds=1))
    third = VolunteerFactory()
    assert fresh.id in [c.id for c in clips_lease_for_validation(validator=third, limit=5)]


def test_a_validator_is_not_offered_a_clip_they_voted_on():
    clip = ClipFactory()
    validator = VolunteerFactory()
    vote_cast(clip_id=clip.id, voter=validator, is_valid=True)
    assert clips_lease_for_validation(validator=validator) == []


def test_a_prompt_is_hidden_after_two_reports_and_one_person_reports_once():
    prompt = PromptFactory()
    first, second = VolunteerFactory.create_batch(2)
    prompt_report(prompt_id=prompt.id, reporter=first, reason="grammar")
    prompt_report(prompt_id=prompt.id, reporter=first, reason="offensive")  # a double tap
    prompt.refresh_from_db()
    assert (prompt.hidden, Report.objects.count()) == (False, 1)
    prompt_report(prompt_id=prompt.id, reporter=second, reason="different_language")
    prompt.refresh_from_db()
    assert prompt.hidden
    assert prompt not in prompts_for_recording()
    with pytest.raises(ApplicationError) as unknown:
        prompt_report(prompt_id=prompt.id, reporter=second, reason="boring")
    assert unknown.value.code == "unknown_reason"


def test_prompts_import_deduplicates_and_reports_bad_rows():
    PromptFactory(text="Ammo boshqa bir sabab bilan")
    result = prompts_import(
        rows=[
            PromptRow("ammo  boshqa bir sabab bilan.", "uz", line=1),  # a stored one again
            PromptRow("Oʻzbekiston gʻalaba", "uz", line=2),
            PromptRow("O'zbekiston g‘alaba!", "uz", line=3),  # the same, other apostrophes
            PromptRow("Я работаю в Ташкенте, lekin uyim Samarqandda", "mixed", "daily", line=4),
            PromptRow("...", "uz", line=5),
            PromptRow("Salom", "kk", line=6),
        ],
        source="starter set, CC0",
    )
    assert (result.created, result.duplicates) == (2, 2)
    assert [(e["line"], e["error"]) for e in result.errors] == [
        (5, "the prompt holds no words"),
        (6, "unknown language 'kk': use uz, ru or mixed"),
    ]
    assert Prompt.objects.filter(language="mixed", domain="daily").count() == 1
    assert prompt_dedup_key("Oʻzbekiston") == prompt_dedup_key("o`zbekiston")


def test_banned_prompts_are_not_offered_and_the_least_recorded_come_first():
    recorded, fresh, banned = PromptFactory.create_batch(3)
    ClipFactory(prompt=recorded)
    assert prompts_ban(prompt_ids=[banned.id]) == 1
    assert list(prompts_for_recording(language="uz")) == [fresh, recorded]


def test_validators_who_disagree_with_verdicts_are_found():
    contrarian, agreeable = VolunteerFactory.create_batch(2)
    for _ in range(3):
        clip = ClipFactory(status="validated", up_votes=2)
        VoteFactory(clip=clip, voter=contrarian, is_valid=False)
        VoteFactory(clip=clip, voter=agreeable, is_valid=True)
    VoteFactory(clip=ClipFactory(), voter=contrarian, is_valid=False)  # not decided: not counted
    rows = validators_disagreement(minimum_votes=3)
    assert [(r.volunteer, r.decided_votes, r.disagreements) for r in rows] == [
        (contrarian, 3, 3),
        (agreeable, 3, 0),
    ]
    assert rows[0].disagreement_rate == 1.0
    assert [r.volunteer for r in validators_to_review(minimum_votes=3)] == [contrarian]

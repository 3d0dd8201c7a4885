"""Admins moderate: reports upheld (prompt banned) or dismissed (prompt offered again), and
validators' votes discounted or counted again, through the services and the admin's actions."""

from __future__ import annotations

import pytest

from collection.models import Clip, Prompt, Report, Volunteer
from collection.selectors import prompts_for_recording
from collection.services import (
    prompt_report,
    reports_resolve,
    volunteers_discount_votes,
    vote_cast,
)
from tests.factories import ClipFactory, PromptFactory, VolunteerFactory, VoteFactory

pytestmark = pytest.mark.django_db


def reported_twice() -> Prompt:
    prompt = PromptFactory()
    for reason in ("grammar", "offensive"):
        prompt_report(prompt_id=prompt.id, reporter=VolunteerFactory(), reason=reason)
    prompt.refresh_from_db()
    assert prompt.hidden
    return prompt


def test_dismissed_reports_offer_the_prompt_again():
    prompt = reported_twice()
    ids = Report.objects.filter(prompt=prompt).values_list("id", flat=True)
    assert reports_resolve(report_ids=ids, uphold=False) == 2
    prompt.refresh_from_db()
    assert not prompt.hidden
    assert not prompt.banned
    assert prompt in prompts_for_recording()
    # Resolving again changes nothing.
    assert reports_resolve(report_ids=ids, uphold=False) == 0


def test_upheld_reports_ban_the_prompt():
    prompt = reported_twice()
    ids = Report.objects.filter(prompt=prompt).values_list("id", flat=True)
    assert reports_resolve(report_ids=ids, uphold=True) == 2
    prompt.refresh_from_db()
    assert prompt.banned
    assert prompt not in prompts_for_recording()


def test_dismissing_one_of_three_reports_keeps_the_prompt_hidden():
    prompt = reported_twice()
    prompt_report(prompt_id=prompt.id, reporter=VolunteerFactory(), reason="grammar")
    first = Report.objects.filter(prompt=prompt).order_by("id").first()
    reports_resolve(report_ids=[first.id], uphold=False)
    prompt.refresh_from_db()
    assert prompt.hidden  # two open reports remain


def test_discounting_a_validator_takes_their_votes_off_pending_clips_only():
    validator = VolunteerFactory()
    pending = ClipFactory()
    decided = ClipFactory()
    vote_cast(clip_id=pending.id, voter=validator, is_valid=True)
    vote_cast(clip_id=decided.id, voter=validator, is_valid=False)
    vote_cast(clip_id=decided.id, voter=VolunteerFactory(), is_valid=False)

    assert volunteers_discount_votes(volunteer_ids=[validator.id], discounted=True) == 1
    pending.refresh_from_db()
    decided.refresh_from_db()
    assert (pending.up_votes, pending.status) == (0, Clip.Status.PENDING)
    assert (decided.down_votes, decided.status) == (2, Clip.Status.INVALIDATED)
    assert volunteers_discount_votes(volunteer_ids=[validator.id], discounted=True) == 0

    # Counted again: the kept vote and a new one decide the pending clip.
    volunteers_discount_votes(volunteer_ids=[validator.id], discounted=False)
    vote_cast(clip_id=pending.id, voter=VolunteerFactory(), is_valid=True)
    pending.refresh_from_db()
    assert (pending.up_votes, pending.status) == (2, Clip.Status.VALIDATED)


def test_admin_actions_moderate_reports_and_validators(admin_client):
    prompt = reported_twice()
    response = admin_client.post(
        "/admin/collection/report/",
        {
            "action": "uphold",
            "_selected_action": list(Report.objects.values_list("id", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"2 reports upheld" in response.content
    prompt.refresh_from_db()
    assert prompt.banned

    validator = VolunteerFactory()
    response = admin_client.post(
        "/admin/collection/volunteer/",
        {"action": "discount_votes", "_selected_action": [validator.id]},
        follow=True,
    )
    assert b"Votes of 1 volunteers discounted" in response.content
    assert Volunteer.objects.get(id=validator.id).votes_discounted


def test_the_admin_lists_validators_above_the_disagreement_threshold(admin_client):
    contrarian, agreeable = VolunteerFactory(), VolunteerFactory()
    for clip in ClipFactory.create_batch(10, status=Clip.Status.VALIDATED):
        VoteFactory(clip=clip, voter=contrarian, is_valid=False)
        VoteFactory(clip=clip, voter=agreeable, is_valid=True)
    page = admin_client.get("/admin/collection/volunteer/?disagreement=high").content.decode()
    assert str(contrarian.pseudonym) in page
    assert str(agreeable.pseudonym) not in page

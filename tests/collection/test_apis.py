"""The volunteers' REST API (/api/v1/collection/) through DRF's test client, against the
database: every endpoint, its errors in the one error shape, and who may see what."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.files import File
from django.utils import timezone
from rest_framework.test import APIClient

from collection.model_checks import clip_run_checks
from collection.models import Clip, Report, Volunteer, Vote
from tests.factories import (
    ClipFactory,
    PromptFactory,
    TokenFactory,
    UserFactory,
    VolunteerFactory,
)
from tests.support import CLIPS

pytestmark = pytest.mark.django_db

API = "/api/v1/collection"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TokenFactory(user=user).key}")
    return client


@pytest.fixture
def volunteer() -> Volunteer:
    return VolunteerFactory()


@pytest.fixture
def client(volunteer) -> APIClient:
    return client_for(volunteer.user)


@async_to_sync
async def streamed_body(response) -> bytes:
    """The audio comes from an asynchronous iterator (uzwhisper.audio_responses)."""
    return b"".join([chunk async for chunk in response.streaming_content])


def error_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/profile/"),
        ("patch", "/profile/"),
        ("get", "/prompts/next/"),
        ("post", "/prompts/1/report/"),
        ("get", "/clips/"),
        ("post", "/clips/"),
        ("get", f"/clips/{uuid.uuid4()}/"),
        ("post", f"/clips/{uuid.uuid4()}/confirm/"),
        ("post", f"/clips/{uuid.uuid4()}/discard/"),
        ("post", f"/clips/{uuid.uuid4()}/vote/"),
        ("post", "/validation/lease/"),
        ("get", f"/validation/{uuid.uuid4()}/audio"),
        ("get", "/progress/"),
    ],
)
def test_every_endpoint_wants_a_login(method, path):
    response = getattr(APIClient(), method)(f"{API}{path}")
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"


# --- profile ---


def test_a_new_volunteer_must_consent_with_their_first_profile():
    user = UserFactory()
    client = client_for(user)
    profile = client.get(f"{API}/profile/").json()
    assert profile["consented"] is False
    assert profile["consented_at"] is None

    refused = client.patch(f"{API}/profile/", {"dialect": "khorezm"}, format="json")
    assert refused.status_code == 400
    assert error_of(refused) == "consent_required"

    saved = client.patch(
        f"{API}/profile/",
        {
            "consent": True,
            "age_band": "thirties",
            "gender": "male",
            "dialect": "khorezm",
            "native_language": "uz",
            "interface_language": "ru",
        },
        format="json",
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["consented"] is True
    assert (body["age_band"], body["gender"], body["dialect"]) == ("thirties", "male", "khorezm")
    volunteer = Volunteer.objects.get(user=user)
    assert volunteer.consented_at is not None
    assert volunteer.interface_language == "ru"

    # Once consented, the profile changes alone.
    changed = client.patch(f"{API}/profile/", {"dialect": "fergana"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["dialect"] == "fergana"


def test_a_profile_value_outside_the_choices_is_refused(client, volunteer):
    response = client.patch(f"{API}/profile/", {"age_band": "ancient"}, format="json")
    assert response.status_code == 400
    assert error_of(response) == "invalid_input"
    assert "age_band" in response.json()["error"]["details"]
    volunteer.refresh_from_db()
    assert volunteer.age_band == "twenties"


# --- prompts ---


def test_next_prompts_leave_out_hidden_banned_and_already_recorded(client, volunteer):
    recorded = PromptFactory()
    ClipFactory(prompt=recorded, volunteer=volunteer)
    refused_before = PromptFactory()  # a refused take may be read again
    ClipFactory(prompt=refused_before, volunteer=volunteer, status=Clip.Status.REFUSED)
    PromptFactory(hidden=True)
    PromptFactory(banned=True)
    fresh = PromptFactory(language="ru", text="Оставайтесь на линии.")

    response = client.get(f"{API}/prompts/next/")
    assert response.status_code == 200
    assert {p["id"] for p in response.json()} == {refused_before.id, fresh.id}

    only_russian = client.get(f"{API}/prompts/next/", {"language": "ru"}).json()
    assert [p["text"] for p in only_russian] == ["Оставайтесь на линии."]
    assert len(client.get(f"{API}/prompts/next/", {"limit": 1}).json()) == 1
    assert error_of(client.get(f"{API}/prompts/next/", {"limit": 0})) == "invalid_input"


def test_a_prompt_is_reported_once_per_person_with_one_of_four_reasons(client, volunteer):
    prompt = PromptFactory()
    response = client.post(
        f"{API}/prompts/{prompt.id}/report/", {"reason": "grammar"}, format="json"
    )
    assert response.status_code == 201
    again = client.post(
        f"{API}/prompts/{prompt.id}/report/", {"reason": "offensive"}, format="json"
    )
    assert again.status_code == 201
    assert list(Report.objects.values_list("reporter", "reason")) == [(volunteer.id, "grammar")]

    bad = client.post(f"{API}/prompts/{prompt.id}/report/", {"reason": "boring"}, format="json")
    assert (bad.status_code, error_of(bad)) == (400, "invalid_input")
    missing = client.post(f"{API}/prompts/999999/report/", {"reason": "grammar"}, format="json")
    assert (missing.status_code, error_of(missing)) == (404, "prompt_not_found")


# --- the volunteer's own clips ---


def test_a_volunteer_sees_their_own_clip_and_no_one_elses(client, volunteer):
    own = ClipFactory(volunteer=volunteer, status=Clip.Status.UNCONFIRMED)
    other = ClipFactory()

    response = client.get(f"{API}/clips/{own.id}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["prompt"]["id"]) == (
        str(own.id),
        "unconfirmed",
        own.prompt_id,
    )
    assert body["links"]["confirm"] == f"{API}/clips/{own.id}/confirm/"
    assert body["refusal"] is None

    for clip_id in (other.id, uuid.uuid4(), "not-a-uuid"):
        response = client.get(f"{API}/clips/{clip_id}/")
        assert (response.status_code, error_of(response)) == (404, "clip_not_found")


def test_a_refused_clip_says_why(client, volunteer):
    refusal = {"code": "clip_mismatch", "message": "The recording does not match the sentence."}
    clip = ClipFactory(volunteer=volunteer, status=Clip.Status.REFUSED, checks={"refusal": refusal})
    assert client.get(f"{API}/clips/{clip.id}/").json()["refusal"] == refusal


def test_the_clip_list_is_the_volunteers_own_newest_first_and_paginated(client, volunteer):
    now = timezone.now()
    own = [
        ClipFactory(volunteer=volunteer, created_at=now - timedelta(minutes=minutes))
        for minutes in range(3)
    ]
    ClipFactory()  # someone else's
    first = client.get(f"{API}/clips/", {"page_size": 2}).json()
    assert first["count"] == 3
    assert [c["id"] for c in first["results"]] == [str(own[0].id), str(own[1].id)]
    second = client.get(first["next"]).json()
    assert [c["id"] for c in second["results"]] == [str(own[2].id)]


# --- validation ---


def test_a_validator_leases_others_pending_clips_and_hears_them_while_leased(client, volunteer):
    own = ClipFactory(volunteer=volunteer)
    waiting = ClipFactory()
    ClipFactory(status=Clip.Status.UNCONFIRMED)  # not confirmed by its speaker yet

    response = client.post(f"{API}/validation/lease/", {"limit": 5}, format="json")
    assert response.status_code == 200
    batch = response.json()
    assert [c["id"] for c in batch] == [str(waiting.id)]
    assert str(own.id) not in {c["id"] for c in batch}
    leased = batch[0]
    assert leased["prompt"]["text"] == waiting.prompt.text
    assert "volunteer" not in leased
    assert "speaker_profile" not in leased

    audio = client.get(leased["audio"])
    assert audio.status_code == 200
    assert audio["Content-Type"] == "audio/wav"
    body = streamed_body(audio)
    assert body == waiting.audio.open("rb").read()

    partial = client.get(leased["audio"], HTTP_RANGE="bytes=0-99", HTTP_ACCEPT="audio/*")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 0-99/{len(body)}"
    assert len(streamed_body(partial)) == 100


def test_a_clip_audio_is_refused_outside_the_validators_lease(client, volunteer):
    clip = ClipFactory()
    url = f"{API}/validation/{clip.id}/audio"
    not_leased = client.get(url)
    assert (not_leased.status_code, error_of(not_leased)) == (404, "clip_not_found")

    someone = VolunteerFactory()
    Clip.objects.filter(id=clip.id).update(
        leased_to=someone, leased_until=timezone.now() + timedelta(minutes=5)
    )
    assert client.get(url).status_code == 404  # leased to someone else
    assert client_for(someone.user).get(url).status_code == 200

    Clip.objects.filter(id=clip.id).update(
        leased_to=volunteer, leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(url).status_code == 404  # the lease ran out

    # Its own speaker does not get it through the validators' door either.
    own = ClipFactory(volunteer=volunteer)
    Clip.objects.filter(id=own.id).update(
        leased_to=volunteer, leased_until=timezone.now() + timedelta(minutes=5)
    )
    own.status = Clip.Status.VALIDATED
    own.save(update_fields=["status"])
    assert client.get(f"{API}/validation/{own.id}/audio").status_code == 404


def test_a_vote_counts_once_and_the_second_is_refused(client, volunteer):
    clip = ClipFactory()
    response = client.post(f"{API}/clips/{clip.id}/vote/", {"valid": True}, format="json")
    assert response.status_code == 201
    assert response.json() == {"clip": str(clip.id), "status": "pending"}

    again = client.post(f"{API}/clips/{clip.id}/vote/", {"valid": False}, format="json")
    assert (again.status_code, error_of(again)) == (409, "already_voted")
    assert list(Vote.objects.filter(clip=clip).values_list("voter", "is_valid")) == [
        (volunteer.id, True)
    ]
    clip.refresh_from_db()
    assert (clip.up_votes, clip.down_votes) == (1, 0)


def test_the_second_vote_decides_and_a_decided_clip_takes_no_more(client):
    clip = ClipFactory(up_votes=1)
    decided = client.post(f"{API}/clips/{clip.id}/vote/", {"valid": True}, format="json")
    assert decided.json()["status"] == "validated"
    late = client_for(VolunteerFactory().user).post(
        f"{API}/clips/{clip.id}/vote/", {"valid": False}, format="json"
    )
    assert (late.status_code, error_of(late)) == (409, "clip_decided")


def test_votes_on_ones_own_missing_or_with_a_bad_body_are_refused(client, volunteer):
    own = ClipFactory(volunteer=volunteer)
    response = client.post(f"{API}/clips/{own.id}/vote/", {"valid": True}, format="json")
    assert (response.status_code, error_of(response)) == (403, "own_clip")
    missing = client.post(f"{API}/clips/{uuid.uuid4()}/vote/", {"valid": True}, format="json")
    assert (missing.status_code, error_of(missing)) == (404, "clip_not_found")
    other = ClipFactory()
    bad = client.post(f"{API}/clips/{other.id}/vote/", {"valid": "perhaps"}, format="json")
    assert (bad.status_code, error_of(bad)) == (400, "invalid_input")
    assert not Vote.objects.exists()


# --- progress ---


def test_progress_is_for_staff_only():
    ClipFactory(status=Clip.Status.VALIDATED, duration_s=3600)
    assert client_for(UserFactory()).get(f"{API}/progress/").status_code == 403
    response = client_for(UserFactory(is_staff=True)).get(f"{API}/progress/")
    assert response.status_code == 200
    body = response.json()
    assert body["total"]["validated_hours"] == 1.0
    assert body["by_dialect"][0]["key"] == "tashkent"


# --- recording: submit, checks, confirm, discard (the real signal and model checks) ---


@pytest.fixture
def russian_prompt():
    reading = CLIPS["pls-hold-while-try"]
    return PromptFactory(language="ru", text=reading.text)


def upload(client, prompt_id, path, name=None):
    with open(path, "rb") as audio:
        return client.post(
            f"{API}/clips/",
            {"prompt": prompt_id, "audio": File(audio, name=name or path.name)},
            format="multipart",
        )


def test_a_recording_is_submitted_checked_and_confirmed(client, volunteer, russian_prompt):
    response = upload(client, russian_prompt.id, CLIPS["pls-hold-while-try"].path)
    assert response.status_code == 201, response.json()
    submitted = response.json()
    assert submitted["status"] == "checking"
    assert submitted["duration_s"] == pytest.approx(3.41, abs=0.02)
    assert submitted["checks"]["signal"]["rms_dbfs"] < 0
    clip_id = submitted["id"]

    # Not yet checked: confirming is refused.
    early = client.post(f"{API}/clips/{clip_id}/confirm/")
    assert (early.status_code, error_of(early)) == (409, "clip_not_ready")

    clip_run_checks(clip_id=clip_id)  # the ASR worker's task body, in-process
    polled = client.get(f"{API}/clips/{clip_id}/").json()
    assert polled["status"] == "unconfirmed"
    assert polled["checks"]["model"]["cer"] <= 0.5

    confirmed = client.post(f"{API}/clips/{clip_id}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "pending"
    assert Clip.objects.get(id=clip_id).status == Clip.Status.PENDING
    # A confirmed clip is no longer the speaker's to discard.
    late = client.post(f"{API}/clips/{clip_id}/discard/")
    assert (late.status_code, error_of(late)) == (409, "clip_confirmed")


def test_a_recording_of_another_sentence_is_refused_and_can_be_discarded(client, volunteer):
    prompt = PromptFactory(language="ru", text=CLIPS["vm-sorry"].text)
    response = upload(client, prompt.id, CLIPS["pls-hold-while-try"].path)
    assert response.status_code == 201, response.json()
    clip_id = response.json()["id"]
    clip_run_checks(clip_id=clip_id)

    refused = client.get(f"{API}/clips/{clip_id}/").json()
    assert refused["status"] == "refused"
    assert refused["refusal"]["code"] in {"transcript_mismatch", "speaking_rate_implausible"}
    confirm = client.post(f"{API}/clips/{clip_id}/confirm/")
    assert (confirm.status_code, error_of(confirm)) == (409, "clip_refused")

    discarded = client.post(f"{API}/clips/{clip_id}/discard/")
    assert discarded.status_code == 204
    assert not Clip.objects.filter(id=clip_id).exists()
    gone = client.get(f"{API}/clips/{clip_id}/")
    assert (gone.status_code, error_of(gone)) == (404, "clip_not_found")


def test_a_file_that_is_not_audio_is_refused_and_nothing_is_stored(
    client, russian_prompt, tmp_path
):
    bogus = tmp_path / "recording.webm"
    bogus.write_bytes(b"these are not the sounds you are looking for " * 40)
    response = upload(client, russian_prompt.id, bogus)
    assert (response.status_code, error_of(response)) == (400, "audio_undecodable")
    assert not Clip.objects.exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [({"prompt": "1"}, "audio"), ({}, "prompt")],
)
def test_a_submission_without_its_fields_is_invalid(client, form, field):
    response = client.post(f"{API}/clips/", form, format="multipart")
    assert (response.status_code, error_of(response)) == (400, "invalid_input")
    assert field in response.json()["error"]["details"]


def test_a_recording_needs_consent_and_an_offered_prompt(russian_prompt):
    path = CLIPS["pls-hold-while-try"].path
    newcomer = client_for(UserFactory())
    response = upload(newcomer, russian_prompt.id, path)
    assert (response.status_code, error_of(response)) == (403, "consent_required")

    consented = client_for(VolunteerFactory().user)
    hidden = PromptFactory(hidden=True)
    for prompt_id in (hidden.id, 999999):
        response = upload(consented, prompt_id, path)
        assert (response.status_code, error_of(response)) == (404, "prompt_not_found")
    assert not Clip.objects.exists()


def test_someone_elses_recording_cannot_be_confirmed_or_discarded(client):
    other = ClipFactory(status=Clip.Status.UNCONFIRMED)
    for action in ("confirm", "discard"):
        response = client.post(f"{API}/clips/{other.id}/{action}/")
        assert (response.status_code, error_of(response)) == (404, "clip_not_found")
    other.refresh_from_db()
    assert other.status == Clip.Status.UNCONFIRMED


def test_an_oversized_body_is_refused_before_it_is_read(client, russian_prompt, settings):
    settings.COLLECTION_MAX_CLIP_BYTES = 1000
    response = upload(client, russian_prompt.id, CLIPS["demo-nogo"].path)
    assert (response.status_code, error_of(response)) == (413, "file_too_large")

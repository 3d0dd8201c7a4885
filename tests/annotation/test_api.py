"""The annotation REST API: the lifecycle through HTTP, errors as the one JSON body, audio by
byte ranges, peaks, and every role against every endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.services import task_compute_peaks
from tests.factories import (
    TaskFactory,
    TokenFactory,
    UserFactory,
    VolunteerFactory,
    annotator_user,
    reviewer_user,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/annotation"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TokenFactory(user=user).key}")
    return client


def test_two_annotators_get_different_tasks_and_a_stale_tab_is_told():
    TaskFactory()
    alice, bob = client_for(annotator_user()), client_for(annotator_user())
    first = alice.post(f"{API}/tasks/next/")
    assert first.status_code == 200
    body = first.json()
    assert body["version"] == 1
    assert body["status"] == "in_progress"
    assert bob.post(f"{API}/tasks/next/").status_code == 204  # the only task is locked

    # Bob cannot open or save Alice's annotation, nor fetch its audio.
    draft = f"{API}/annotations/{body['id']}/draft/"
    assert bob.get(f"{API}/annotations/{body['id']}/").status_code == 404
    assert bob.put(draft, {"version": 1, "segments": []}, format="json").status_code == 404
    assert bob.get(f"{API}/tasks/{body['task']['id']}/audio/").status_code == 404

    segments = body["segments"]
    segments[0]["text"] = "Подключение к серверу базы"
    saved = alice.put(draft, {"version": 1, "segments": segments}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["version"] == 2
    stale = alice.put(draft, {"version": 1, "segments": body["segments"]}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert stale.json()["error"]["details"]["current_version"] == 2
    assert alice.get(f"{API}/annotations/{body['id']}/").json()["segments"][0]["text"] == (
        "Подключение к серверу базы"
    )

    bad = alice.post(
        f"{API}/annotations/{body['id']}/submit/",
        {"version": 2, "segments": [{"start": 3, "end": 1, "text": "x"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_segments"
    assert bad.json()["error"]["details"] == {"segment": 0}


def test_audio_streams_by_range_peaks_come_as_bytes_and_missing_audio_is_410():
    task = TaskFactory()
    alice = client_for(annotator_user())
    annotation = alice.post(f"{API}/tasks/next/").json()
    audio = f"{API}/tasks/{task.id}/audio/"
    part = alice.get(audio, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206
    assert part["Content-Range"].startswith("bytes 0-99/")
    assert part["Content-Length"] == "100"

    peaks = f"{API}/tasks/{task.id}/peaks/"
    not_yet = alice.get(peaks)
    assert not_yet.status_code == 409
    assert not_yet.json()["error"]["code"] == "peaks_not_ready"
    task_compute_peaks(task_id=task.id)
    ready = alice.get(peaks)
    assert ready.status_code == 200
    assert ready["X-Peaks-Per-Second"] == "100"
    assert len(ready.content) == pytest.approx(1054, abs=3)
    assert alice.get(f"{API}/annotations/{annotation['id']}/").json()["task"]["peaks_ready"]

    task.audio.storage.delete(task.audio.name)
    gone = alice.get(audio)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "audio_missing"


ENDPOINTS = [
    # (method, path template, minimum role)
    ("post", "/tasks/next/", "annotator"),
    ("put", "/annotations/{annotation}/draft/", "annotator"),
    ("post", "/annotations/{annotation}/submit/", "annotator"),
    ("post", "/annotations/{annotation}/release/", "annotator"),
    ("post", "/annotations/{annotation}/review/", "reviewer"),
    ("get", "/tasks/{task}/review/", "reviewer"),
    ("post", "/tasks/", "admin"),
]


def _users():
    volunteer = VolunteerFactory().user
    return {
        "anonymous": None,
        "api client": UserFactory(),
        "volunteer": volunteer,
        "annotator": annotator_user(),
        "reviewer": reviewer_user(),
        "admin": UserFactory(is_staff=True),
    }


ALLOWED = {
    "annotator": {"annotator", "admin"},
    "reviewer": {"reviewer", "admin"},
    "admin": {"admin"},
}


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_endpoint_refuses_every_role_without_it(method, path, role):
    task = TaskFactory()
    owner = annotator_user()
    annotation = client_for(owner).post(f"{API}/tasks/next/").json()
    url = API + path.format(annotation=annotation["id"], task=task.id)
    for name, user in _users().items():
        client = client_for(user) if user else APIClient()
        response = getattr(client, method)(url, {}, format="json")
        if name in ALLOWED[role]:
            # Let in: refused for what it sent, or for not being the owner; never for the role.
            assert response.status_code not in (401, 403), (name, url, response.json())
        else:
            assert response.status_code in (401, 403), (name, url, response.status_code)
            assert response.json()["error"]["code"] in (
                "not_authenticated",
                "permission_denied",
            )


def test_admin_creates_tasks_and_the_schema_lists_the_lifecycle():
    admin = client_for(UserFactory(is_staff=True))
    refused = admin.post(
        f"{API}/tasks/",
        {"source": "job", "ids": ["00000000-0000-0000-0000-000000000001"]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "job_not_done"
    schema = admin.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/tasks/next/", "/annotations/{annotation_id}/draft/", "/tasks/"):
        assert f"/api/v1/annotation{path}" in schema["paths"], path


def test_reviewer_sees_the_comparison_and_rejects_with_a_comment():
    TaskFactory()
    alice = client_for(annotator_user())
    body = alice.post(f"{API}/tasks/next/").json()
    segments = body["segments"]
    segments[1]["text"] = "через консоль"
    submitted = alice.post(
        f"{API}/annotations/{body['id']}/submit/",
        {"version": 1, "segments": segments},
        format="json",
    )
    assert submitted.status_code == 200, submitted.json()
    rita = client_for(reviewer_user())
    view = rita.get(f"{API}/tasks/{body['task']['id']}/review/").json()
    [shown] = view["annotations"]
    assert shown["wer"] == pytest.approx(0.2)
    assert {"op": "insert", "text": "консоль"} in shown["diff"]
    no_comment = rita.post(
        f"{API}/annotations/{body['id']}/review/", {"decision": "reject"}, format="json"
    )
    assert no_comment.json()["error"]["code"] == "comment_required"
    rejected = rita.post(
        f"{API}/annotations/{body['id']}/review/",
        {"decision": "reject", "comment": "консоли was right"},
        format="json",
    )
    assert rejected.status_code == 201
    again = alice.post(f"{API}/tasks/next/").json()
    assert again["id"] == body["id"]
    assert again["review_comment"] == "консоли was right"

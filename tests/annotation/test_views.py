"""Annotation pages: each role sees its own, and no one else's."""

from __future__ import annotations

import pytest

from annotation.services import annotation_submit, task_next_for_annotator
from tests.factories import (
    TaskFactory,
    UserFactory,
    VolunteerFactory,
    annotator_user,
    reviewer_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted_task():
    task = TaskFactory()
    user = annotator_user()
    draft = task_next_for_annotator(user=user)
    annotation_submit(user=user, annotation_id=draft.id, version=1, segments=draft.segments)
    return task, draft


def status_of(client, user, url: str) -> int:
    if user is not None:
        client.force_login(user)
    return client.get(url).status_code


def test_pages_per_role(client, submitted_task):
    task, _draft = submitted_task
    pages = {
        "/annotation/": {"annotator", "reviewer", "admin"},
        f"/annotation/review/{task.id}/": {"reviewer", "admin"},
        "/annotation/review/": {"reviewer", "admin"},
        "/annotation/stats/": {"admin"},
    }
    users = {
        "volunteer": VolunteerFactory().user,
        "api client": UserFactory(),
        "annotator": annotator_user(),
        "reviewer": reviewer_user(),
        "admin": UserFactory(is_staff=True),
    }
    for url, allowed in pages.items():
        for name, user in users.items():
            client.logout()
            code = status_of(client, user, url)
            assert code == (200 if name in allowed else 403), (url, name, code)
        client.logout()
        assert client.get(url).status_code == 302  # to the login page


def test_the_editor_is_its_annotators_alone(client, submitted_task):
    _task, draft = submitted_task
    client.force_login(draft.annotator)
    page = client.get(f"/annotation/a/{draft.id}/")
    assert page.status_code == 200
    assert b"wavesurfer" not in page.content  # the module imports it; the page holds no CDN link
    assert b'src="/api/v1/annotation/tasks/' in page.content
    client.force_login(annotator_user())
    assert client.get(f"/annotation/a/{draft.id}/").status_code == 404


def test_review_page_shows_the_difference_and_rejects_with_a_comment(client, submitted_task):
    task, draft = submitted_task
    client.force_login(reviewer_user())
    page = client.get(f"/annotation/review/{task.id}/").content.decode()
    assert "Подключение к серверу" in page
    refused = client.post(
        f"/annotation/review/{task.id}/",
        {"annotation": str(draft.id), "decision": "reject", "comment": " "},
        follow=True,
    )
    assert "a rejection needs a comment" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == "submitted"
    client.post(
        f"/annotation/review/{task.id}/",
        {"annotation": str(draft.id), "decision": "reject", "comment": "fix it"},
    )
    draft.refresh_from_db()
    assert draft.status == "rejected"

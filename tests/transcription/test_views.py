"""Server-rendered pages and the audio endpoint."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from tests.factories import UserFactory, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def test_job_list_paginates_filters_and_searches(logged_in, user, ru_clip):
    for n in range(21):
        make_job(owner=user, path=ru_clip.path, original_name=f"talk-{n:02d}.wav", status="done")
    make_job(owner=user, path=ru_clip.path, original_name="broken.wav", status="failed")
    make_job(owner=UserFactory(), path=ru_clip.path, original_name="not-mine.wav")

    first = logged_in.get("/jobs/").content.decode()
    assert "Page 1 of 2 · 22 jobs" in first
    assert "not-mine.wav" not in first
    assert 'rel="next"' in first
    failed = logged_in.get("/jobs/?status=failed").content.decode()
    assert "broken.wav" in failed
    assert "talk-00.wav" not in failed
    found = logged_in.get("/jobs/?q=talk-07").content.decode()
    assert "talk-07.wav" in found
    assert "Page 1 of 1 · 1 jobs" in found
    assert "match this filter" in logged_in.get("/jobs/?q=nothing-like-this").content.decode()


def test_job_page_of_another_user_is_404(logged_in, ru_clip):
    job = make_job(owner=UserFactory(), path=ru_clip.path)
    assert logged_in.get(f"/jobs/{job.id}/").status_code == 404
    assert logged_in.get(f"/jobs/{job.id}/audio").status_code == 404


@async_to_sync
async def _body(response) -> bytes:
    """A streamed body: the audio comes from an asynchronous iterator."""
    return b"".join([chunk async for chunk in response.streaming_content])


def test_audio_supports_range_requests_for_seeking(logged_in, user, ru_clip):
    job = make_job(owner=user, path=ru_clip.path)
    data = ru_clip.path.read_bytes()
    whole = logged_in.get(f"/jobs/{job.id}/audio")
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(len(data))
    assert _body(whole) == data

    part = logged_in.get(f"/jobs/{job.id}/audio", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part["Content-Length"] == "100"
    assert _body(part) == data[100:200]

    tail = logged_in.get(f"/jobs/{job.id}/audio", HTTP_RANGE="bytes=-10")
    assert _body(tail) == data[-10:]
    beyond = logged_in.get(f"/jobs/{job.id}/audio", HTTP_RANGE=f"bytes={len(data) + 5}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"


def test_upload_page_is_keyboard_reachable(logged_in):
    page = logged_in.get("/").content.decode()
    assert 'id="drop-zone" class="drop-zone" tabindex="0" role="button"' in page
    assert 'accept=".wav,.mp3,.ogg,.opus,.flac,.m4a,.webm' in page

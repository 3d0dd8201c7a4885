"""Server-rendered pages and the audio endpoint."""

from __future__ import annotations

import re

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


def test_upload_limit_reads_the_same_on_the_page_in_errors_and_in_the_readme(logged_in, settings):
    from tests.support import ROOT
    from transcription.services.jobs import check_upload_size
    from uzwhisper.errors import ApplicationError

    assert settings.MAX_UPLOAD_BYTES == 200 * 1024 * 1024  # the default
    page = logged_in.get("/").content.decode()
    assert "up to 200 MiB" in page
    assert 'data-max-label="200 MiB"' in page
    with pytest.raises(ApplicationError) as refused:
        check_upload_size(250 * 1024 * 1024)
    assert refused.value.message == "The file is 250 MiB; the limit is 200 MiB."
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `MAX_UPLOAD_BYTES`"))
    assert "200 MiB" in row


def test_upload_page_is_keyboard_reachable(logged_in):
    page = logged_in.get("/").content.decode()
    assert 'id="drop-zone" class="drop-zone" tabindex="0" role="button"' in page
    assert 'accept=".wav,.mp3,.ogg,.opus,.flac,.m4a,.webm' in page


def test_upload_page_posts_to_an_endpoint_that_records_uploads(logged_in, user, ru_clip):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from transcription.models import Job

    page = logged_in.get("/").content.decode()
    assert 'data-api="/upload/"' in page
    audio = SimpleUploadedFile(ru_clip.path.name, ru_clip.path.read_bytes())
    response = logged_in.post("/upload/", {"audio": audio, "language": "ru"})
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "upload"
    assert Job.objects.get(id=response.json()["id"]).source == "upload"
    assert logged_in.get("/upload/").status_code == 405
    assert "/upload/" not in logged_in.get("/api/schema/?format=json").json()["paths"]


def _job_with_text(owner, clip, *, name: str, source: str, texts: list[str]):
    from tests.factories import make_segment

    job = make_job(owner=owner, path=clip.path, original_name=name, source=source, status="done")
    start = 0.0
    for index, text in enumerate(texts):
        words = [(f" {word}", "ru") for word in text.split()]
        make_segment(job=job, index=index, start=start, end=start + 2, words=words)
        start += 2
    return job


def test_job_list_shows_source_and_a_transcript_preview(logged_in, user, ru_clip):
    _job_with_text(
        user,
        ru_clip,
        name="call.wav",
        source="api",
        texts=["Подключение к демонстрационному серверу.", "Астериск слушает."],
    )
    long_segments = [f"Segment {n} matni shu yerda davom etadi." for n in range(40)]
    _job_with_text(user, ru_clip, name="lecture.wav", source="live", texts=long_segments)
    make_job(owner=user, path=ru_clip.path, original_name="queued.wav", source="openai")

    page = logged_in.get("/jobs/").content.decode()
    assert "Подключение к демонстрационному серверу. Астериск слушает." in page
    assert '<span class="source source-api">API</span>' in page
    assert '<span class="source source-live">Live</span>' in page
    assert '<span class="source source-openai">OpenAI API</span>' in page
    preview = re.search(r'<p class="preview">(Segment 0 [^<]*)</p>', page).group(1)
    assert len(preview) <= 120
    assert preview.endswith("…")
    assert "Segment 2 matni" in preview  # joined across segments

    live_only = logged_in.get("/jobs/?source=live").content.decode()
    assert "lecture.wav" in live_only
    assert "call.wav" not in live_only


def test_job_list_preview_says_where_speech_was_not_transcribed(logged_in, user, ru_clip):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import SegmentFactory

    marked = make_job(owner=user, path=ru_clip.path, original_name="all-marked.wav")
    SegmentFactory(job=marked, index=0, text="", untranscribed=True)
    partly = make_job(owner=user, path=ru_clip.path, original_name="partly.wav")
    SegmentFactory(job=partly, index=0, text=" Salom dunyo")
    SegmentFactory(job=partly, index=1, text="", untranscribed=True)

    with CaptureQueriesContext(connection) as captured:
        page = logged_in.get("/jobs/").content.decode()
    assert '<p class="preview">[speech, not transcribed]</p>' in page
    assert '<p class="preview">Salom dunyo [speech, not transcribed]</p>' in page
    # The flag comes with the prefetched preview segments, not a query per segment.
    assert sum('"untranscribed"' in q["sql"] for q in captured.captured_queries) == 1


def test_job_list_costs_the_same_queries_for_any_number_of_jobs(logged_in, user, ru_clip):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get("/jobs/").status_code == 200
        return len(captured)

    for n in range(2):
        _job_with_text(user, ru_clip, name=f"a{n}.wav", source="api", texts=["bir", "ikki"])
    few = queries()
    for n in range(8):
        _job_with_text(user, ru_clip, name=f"b{n}.wav", source="upload", texts=["uch", "to'rt"])
    assert queries() == few


def test_job_page_shows_when_it_was_created_and_its_options(logged_in, user, ru_clip):
    import datetime as dt

    job = make_job(
        owner=user,
        path=ru_clip.path,
        source="openai",
        language_requested="mixed",
        beam_size=5,
        vad_filter=False,
        word_timestamps=True,
        initial_prompt="Astersik, Toshkent",
    )
    job.created_at = dt.datetime(2026, 11, 30, 9, 15, 42, tzinfo=dt.UTC)
    job.save(update_fields=["created_at"])

    page = logged_in.get(f"/jobs/{job.id}/").content.decode()
    assert (
        '<time id="job-created" datetime="2026-11-30T09:15:42+00:00">2026-11-30 09:15:42 UTC</time>'
        in page
    )
    assert '<dd id="job-source">OpenAI API</dd>' in page
    options = re.search(r'<dl class="facts options-used".*?</dl>', page, re.S).group(0)
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", options, re.S))
    assert facts == {
        "Language requested": "Mixed",
        "Beam size": "5",
        "Skip silence (VAD)": "off",
        "Word timestamps": "on",
        "Initial prompt": "Astersik, Toshkent",
    }

    greedy = make_job(owner=user, path=ru_clip.path)
    page = logged_in.get(f"/jobs/{greedy.id}/").content.decode()
    assert "<dt>Beam size</dt><dd>1 (greedy)</dd>" in page
    assert '<dt>Initial prompt</dt><dd><span class="muted">none</span></dd>' in page

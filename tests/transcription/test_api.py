"""The REST API in-process against PostgreSQL: creating, listing, reading, cancelling and deleting
jobs, and every kind of bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.audio_helpers import convert, write_audio
from tests.factories import UserFactory
from transcription.models import Job, Segment, Word

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def create(api_client, path: Path, **fields):
    return api_client.post(JOBS, {"audio": upload(path), **fields}, format="multipart")


def test_create_job_stores_audio_and_queues_it(api_client, ru_clip, settings):
    response = create(api_client, ru_clip.path, language="ru", beam_size=2, initial_prompt="IVR")
    assert response.status_code == 201, response.json()
    body = response.json()
    job = Job.objects.get(id=body["id"])
    assert body["status"] == "queued"
    assert body["source"] == job.source == "api"
    assert job.owner == api_client.user
    assert job.original_name == "demo-nogo.wav"
    assert job.duration_s == pytest.approx(ru_clip.duration_s, abs=0.05)
    assert job.language_requested == "ru"
    assert job.beam_size == 2
    assert job.initial_prompt == "IVR"
    assert len(job.sha256) == 64
    assert Path(job.audio.path).read_bytes() == ru_clip.path.read_bytes()
    # The stored name is ours, never the user's.
    assert "demo-nogo" not in job.audio.name
    assert body["links"]["transcript"]["srt"].endswith("/transcript/srt/")


def test_defaults_are_auto_language_greedy_vad_and_word_timestamps(api_client, ru_clip):
    job = Job.objects.get(id=create(api_client, ru_clip.path).json()["id"])
    assert (job.language_requested, job.beam_size, job.vad_filter, job.word_timestamps) == (
        "auto",
        1,
        True,
        True,
    )


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "flac", "m4a", "webm"])
def test_compressed_formats_are_accepted(api_client, ru_clip, tmp_path, fmt):
    path = convert(ru_clip.path, tmp_path / f"clip.{fmt}", fmt)
    response = create(api_client, path)
    assert response.status_code == 201, response.json()


def _bad_inputs(tmp_path: Path, clip) -> dict[str, tuple[Path, str, int]]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "letter.mp3"
    text.write_text("Hurmatli foydalanuvchi, bu audio emas.\n" * 40)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(clip.path.read_bytes()[:20000])
    silent = write_audio(np.zeros(16000 * 2, dtype=np.float32), tmp_path / "silent.wav")
    no_samples = tmp_path / "zero.wav"
    no_samples.write_bytes(clip.path.read_bytes()[:44])
    return {
        "empty": (empty, "empty_file", 422),
        "not audio": (text, "not_audio", 422),
        "truncated": (truncated, "truncated_audio", 422),
        "silent": (silent, "silent_audio", 422),
        "zero length": (no_samples, "zero_length_audio", 422),
    }


@pytest.mark.parametrize("case", ["empty", "not audio", "truncated", "silent", "zero length"])
def test_bad_audio_gets_a_stable_code_and_leaves_nothing_behind(
    api_client, ru_clip, tmp_path, settings, case
):
    path, code, status = _bad_inputs(tmp_path, ru_clip)[case]
    before = media_files(settings)
    response = create(api_client, path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10
    assert not Job.objects.exists()
    assert media_files(settings) == before


def test_audio_over_the_duration_limit(api_client, ru_clip, settings):
    settings.MAX_AUDIO_SECONDS = 5
    response = create(api_client, ru_clip.path)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "audio_too_long"
    assert not Job.objects.exists()


def test_file_over_the_size_limit_is_refused_before_reading(api_client, ru_clip, settings):
    settings.MAX_UPLOAD_BYTES = 50_000
    response = create(api_client, ru_clip.path)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["message"].endswith("; the limit is 0.0477 MiB.")
    assert not Job.objects.exists()


def test_unsupported_codec_is_refused(api_client, tmp_path):
    # A WAV whose format tag names a codec FFmpeg has no decoder for (0x0055 is MP3-in-WAV,
    # decodable; 0x1234 is nothing).
    header = bytearray(write_audio(np.ones(800, np.float32) * 0.1, tmp_path / "x.wav").read_bytes())
    header[20:22] = (0x1234).to_bytes(2, "little")
    path = tmp_path / "odd.wav"
    path.write_bytes(bytes(header))
    response = create(api_client, path)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_codec"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"file": "x"}, "file"),  # wrong field name, and no audio
        ({"language": "fr"}, "language"),
        ({"beam_size": 0}, "beam_size"),
        ({"beam_size": "five"}, "beam_size"),
        ({"vad_filter": "perhaps"}, "vad_filter"),
    ],
)
def test_wrong_form_fields(api_client, ru_clip, fields, field):
    data = {"audio": upload(ru_clip.path), **fields}
    if "file" in fields:
        data.pop("audio")
    response = api_client.post(JOBS, data, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]
    assert not Job.objects.exists()


def test_json_body_is_refused_with_a_clear_error(api_client):
    response = api_client.generic("POST", JOBS, "{not json", content_type="application/json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_unauthenticated_requests_are_refused(ru_clip):
    client = APIClient()
    for response in (client.get(JOBS), client.post(JOBS, {"audio": upload(ru_clip.path)})):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert bad.get(JOBS).json()["error"]["code"] == "authentication_failed"


def test_token_keyword_also_works(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(JOBS).status_code == 200


def test_another_users_job_is_invisible(api_client, ru_clip):
    job_id = create(api_client, ru_clip.path).json()["id"]
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    for method, url in [
        ("get", f"{JOBS}{job_id}/"),
        ("delete", f"{JOBS}{job_id}/"),
        ("post", f"{JOBS}{job_id}/cancel/"),
        ("get", f"{JOBS}{job_id}/transcript/srt/"),
    ]:
        response = getattr(stranger, method)(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
    assert stranger.get(JOBS).json()["count"] == 0
    assert Job.objects.filter(id=job_id, status="queued").exists()


def test_malformed_job_id_is_a_404_not_a_500(api_client):
    response = api_client.get(f"{JOBS}not-a-uuid/")
    assert response.status_code == 404


def _finished_job(owner, clip, *, name="call.wav", status=Job.Status.DONE, text="Salom dunyo"):
    from tests.factories import make_job

    job = make_job(owner=owner, path=clip.path, original_name=name, status=status)
    segment = Segment.objects.create(
        job=job, index=0, start=0.0, end=1.5, text=text, avg_logprob=-0.2, no_speech_prob=0.01
    )
    Word.objects.create(
        segment=segment, index=0, start=0.0, end=0.7, text=" Salom", probability=0.9, language="uz"
    )
    return job


def test_list_paginates_filters_and_searches(api_client, ru_clip):
    for n in range(23):
        _finished_job(api_client.user, ru_clip, name=f"lecture-{n:02d}.wav", text=f"matn {n}")
    _finished_job(api_client.user, ru_clip, name="meeting.ogg", status=Job.Status.FAILED)
    first = api_client.get(JOBS).json()
    assert first["count"] == 24
    assert len(first["results"]) == 20
    assert first["next"]
    second = api_client.get(first["next"]).json()
    assert len(second["results"]) == 4
    assert api_client.get(JOBS, {"page_size": 5}).json()["results"].__len__() == 5
    failed = api_client.get(JOBS, {"status": "failed"}).json()
    assert [j["original_name"] for j in failed["results"]] == ["meeting.ogg"]
    assert api_client.get(JOBS, {"search": "lecture-07"}).json()["count"] == 1
    assert api_client.get(JOBS, {"search": "matn 12"}).json()["count"] == 1  # transcript text
    bad = api_client.get(JOBS, {"status": "sleeping"})
    assert bad.status_code == 400


def test_list_filters_by_source(api_client, ru_clip):
    from tests.factories import make_job

    for source in ("upload", "api", "openai", "live", "live"):
        make_job(
            owner=api_client.user, path=ru_clip.path, original_name=f"{source}.wav", source=source
        )
    live = api_client.get(JOBS, {"source": "live"}).json()
    assert live["count"] == 2
    assert {j["source"] for j in live["results"]} == {"live"}
    openai = api_client.get(JOBS, {"source": "openai"}).json()["results"]
    assert [j["original_name"] for j in openai] == ["openai.wav"]
    assert api_client.get(JOBS).json()["count"] == 5
    bad = api_client.get(JOBS, {"source": "telegram"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["source"]


def test_transcript_in_every_format(api_client, ru_clip):
    job = _finished_job(api_client.user, ru_clip)
    base = f"{JOBS}{job.id}/transcript"
    assert api_client.get(f"{base}/txt/").content.decode() == "Salom dunyo\n"
    srt = api_client.get(f"{base}/srt/?download=1")
    assert srt.content.decode() == "1\n00:00:00,000 --> 00:00:01,500\nSalom dunyo\n"
    assert srt["Content-Disposition"] == 'attachment; filename="call.srt"'
    assert api_client.get(f"{base}/vtt/").content.decode().startswith("WEBVTT\n\n00:00:00.000")
    body = api_client.get(f"{base}/json/").json()
    assert body["text"] == "Salom dunyo"
    assert body["segments"][0]["words"][0] == {
        "start": 0.0,
        "end": 0.7,
        "text": " Salom",
        "probability": 0.9,
        "language": "uz",
    }
    assert api_client.get(f"{base}/docx/").json()["error"]["code"] == "unknown_format"


def test_speech_not_transcribed_is_in_the_api_and_every_export(api_client, ru_clip):
    """A stretch the model could not write keeps its times everywhere a transcript goes, so a
    reader sees the gap and an annotator can find it (issue 8)."""
    job = _finished_job(api_client.user, ru_clip)  # "Salom dunyo", 0–1.5 s
    Segment.objects.create(
        job=job,
        index=1,
        start=1.5,
        end=4.25,
        text="",
        language="uz",
        avg_logprob=0.0,
        no_speech_prob=0.0,
        untranscribed=True,
    )
    segments = api_client.get(f"{JOBS}{job.id}/segments/").json()["segments"]
    assert [(s["start"], s["end"], s["untranscribed"]) for s in segments] == [
        (0.0, 1.5, False),
        (1.5, 4.25, True),
    ]
    assert segments[1]["text"] == ""
    assert segments[1]["words"] == []

    base = f"{JOBS}{job.id}/transcript"
    body = api_client.get(f"{base}/json/").json()
    assert body["text"] == "Salom dunyo"
    assert body["untranscribed_seconds"] == 2.75
    assert [s["untranscribed"] for s in body["segments"]] == [False, True]
    assert api_client.get(f"{base}/txt/").content.decode() == (
        "Salom dunyo\n[speech, not transcribed 00:00:01.500–00:00:04.250]\n"
    )
    assert "2\n00:00:01,500 --> 00:00:04,250\n[speech, not transcribed]\n" in (
        api_client.get(f"{base}/srt/").content.decode()
    )
    assert "00:00:01.500 --> 00:00:04.250\n[speech, not transcribed]\n" in (
        api_client.get(f"{base}/vtt/").content.decode()
    )


def test_transcript_of_an_unfinished_job_is_a_conflict(api_client, ru_clip):
    job_id = create(api_client, ru_clip.path).json()["id"]
    response = api_client.get(f"{JOBS}{job_id}/transcript/txt/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transcript_not_ready"


def test_cancel_a_queued_job_then_cancel_again(api_client, ru_clip):
    job_id = create(api_client, ru_clip.path).json()["id"]
    response = api_client.post(f"{JOBS}{job_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = api_client.post(f"{JOBS}{job_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancellable"


def test_delete_removes_row_transcript_and_audio_file(
    api_client, ru_clip, django_capture_on_commit_callbacks
):
    job = _finished_job(api_client.user, ru_clip)
    path = Path(job.audio.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(f"{JOBS}{job.id}/")
    assert response.status_code == 204
    assert not path.exists()
    assert not Job.objects.filter(id=job.id).exists()
    assert not Segment.objects.filter(job_id=job.id).exists()


def test_openapi_schema_and_docs_page(api_client):
    schema = api_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/jobs/" in paths
    assert "/api/v1/jobs/{job_id}/transcript/{fmt}/" in paths
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_bytes_io_upload_without_a_name_still_works(api_client, ru_clip):
    data = io.BytesIO(ru_clip.path.read_bytes())
    data.name = "recording"
    response = api_client.post(JOBS, {"audio": data}, format="multipart")
    assert response.status_code == 201

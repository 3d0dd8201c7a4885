"""The OpenAI-compatible endpoint, called by the official `openai` client against a live ASGI
server and a real worker."""

from __future__ import annotations

import jiwer
import openai
import pytest

from tests.factories import TokenFactory
from transcription.models import Job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client(live_server_url, celery_worker_process):
    token = TokenFactory()
    return openai.OpenAI(
        api_key=token.key, base_url=f"{live_server_url}/v1", max_retries=0, timeout=120
    )


def test_json_response(client, ru_clip):
    with ru_clip.path.open("rb") as audio:
        result = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert jiwer.cer(ru_clip.text.lower(), result.text.lower()) < 0.2
    assert Job.objects.latest("created_at").source == Job.Source.OPENAI


def test_verbose_json_with_word_and_segment_timestamps(client, ru_clip):
    with ru_clip.path.open("rb") as audio:
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=audio,
            language="ru",
            prompt="Астериск",
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert result.language == "russian"
    assert result.duration == pytest.approx(ru_clip.duration_s, abs=0.1)
    assert result.segments
    assert result.segments[0].start == 0.0
    assert result.words
    assert all(w.start <= w.end for w in result.words)
    assert " ".join(w.word for w in result.words)


@pytest.mark.parametrize(("fmt", "start"), [("srt", "1\n00:00:00,000 --> "), ("vtt", "WEBVTT")])
def test_subtitle_formats(client, ru_clip, fmt, start):
    with ru_clip.path.open("rb") as audio:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=audio, response_format=fmt
        )
    assert result.startswith(start)


def test_errors_come_back_in_openai_shape(client, live_server_url, tmp_path, ru_clip):
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all " * 100)
    with text.open("rb") as audio, pytest.raises(openai.UnprocessableEntityError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert caught.value.body["code"] == "not_audio"

    with ru_clip.path.open("rb") as audio, pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=audio, language="de")
    assert caught.value.body["code"] == "unsupported_language"

    stranger = openai.OpenAI(api_key="wrong", base_url=f"{live_server_url}/v1", max_retries=0)
    with ru_clip.path.open("rb") as audio, pytest.raises(openai.AuthenticationError):
        stranger.audio.transcriptions.create(model="whisper-1", file=audio)

"""`POST /v1/audio/transcriptions`, shaped like OpenAI's so its official client works unchanged.

The request creates an ordinary job and waits for a worker to finish it. The view is async so a
long wait holds no thread: Django runs every sync view of an ASGI server in one shared thread.
"""

from __future__ import annotations

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.subtitles import to_srt, to_txt, to_vtt

from .models import Job
from .selectors import job_segments, segment_payload
from .services import check_upload_size, job_create

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
# OpenAI's verbose_json names the language in English words.
LANGUAGE_NAMES = {"uz": "uzbek", "ru": "russian"}
_POLL_SECONDS = 0.2


def _error(status: int, code: str, message: str, param: str | None = None) -> JsonResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JsonResponse(body, status=status)


@sync_to_async(thread_sensitive=False)
def _user_for_request(request: HttpRequest):
    header = request.headers.get("Authorization", "").split()
    if len(header) == 2 and header[0].lower() in ("bearer", "token"):
        token = Token.objects.select_related("user").filter(key=header[1]).first()
        return token.user if token and token.user.is_active else None
    return None


def _form_options(request: HttpRequest) -> dict:
    form = request.POST
    response_format = form.get("response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise ApplicationError(
            "invalid_response_format",
            f"response_format must be one of {', '.join(RESPONSE_FORMATS)}.",
        )
    language = (form.get("language") or "auto").lower()
    if language not in Job.Language.values:
        raise ApplicationError(
            "unsupported_language", "language must be uz, ru or mixed (or left out to detect it)."
        )
    granularities = set(form.getlist("timestamp_granularities[]")) or {"segment"}
    if not granularities <= {"word", "segment"}:
        raise ApplicationError(
            "invalid_timestamp_granularities",
            "timestamp_granularities[] takes word and/or segment.",
        )
    return {
        "response_format": response_format,
        "language": language,
        "prompt": form.get("prompt", "")[:1000],
        "words": "word" in granularities,
    }


@sync_to_async(thread_sensitive=False)
def _create_job(request: HttpRequest, user) -> tuple[Job, dict]:
    check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
    upload = request.FILES.get("file")
    if upload is None:
        raise ApplicationError("missing_file", "Send the audio as the multipart field 'file'.")
    options = _form_options(request)
    job = job_create(
        owner=user,
        audio=upload,
        language=options["language"],
        word_timestamps=True,
        initial_prompt=options["prompt"],
        source=Job.Source.OPENAI,
    )
    return job, options


@sync_to_async(thread_sensitive=False)
def _job_state(job_id) -> Job:
    return Job.objects.get(id=job_id)


@sync_to_async(thread_sensitive=False)
def _render(job: Job, options: dict) -> HttpResponse:
    segments = list(job_segments(job=job))
    fmt = options["response_format"]
    text = " ".join(s.text for s in segments if s.text).strip()
    if fmt == "text":
        return HttpResponse(to_txt(segments), content_type="text/plain; charset=utf-8")
    if fmt == "srt":
        return HttpResponse(to_srt(segments), content_type="text/plain; charset=utf-8")
    if fmt == "vtt":
        return HttpResponse(to_vtt(segments), content_type="text/plain; charset=utf-8")
    if fmt == "json":
        return JsonResponse({"text": text}, json_dumps_params={"ensure_ascii": False})
    body: dict = {
        "task": "transcribe",
        "language": LANGUAGE_NAMES.get(job.language_detected, job.language_detected),
        "duration": job.duration_s,
        "text": text,
        "segments": [
            {
                "id": s.index,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": 0.0,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in segments
        ],
    }
    if options["words"]:
        body["words"] = [
            {"word": w["text"].strip(), "start": w["start"], "end": w["end"]}
            for s in segments
            for w in segment_payload(s)["words"]
        ]
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )


@csrf_exempt
async def audio_transcriptions(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.")
    user = await _user_for_request(request)
    if user is None:
        return _error(401, "invalid_api_key", "Send an API token as 'Authorization: Bearer <key>'.")
    try:
        job, options = await _create_job(request, user)
    except ApplicationError as exc:
        return _error(exc.status_code, exc.code, exc.message)

    deadline = time.monotonic() + settings.OPENAI_API_WAIT_SECONDS
    while True:
        job = await _job_state(job.id)
        if job.is_finished:
            break
        if time.monotonic() > deadline:
            return _error(
                504,
                "timeout",
                f"Still transcribing; follow job {job.id} at /api/v1/jobs/{job.id}/.",
            )
        await asyncio.sleep(_POLL_SECONDS)

    if job.status == Job.Status.FAILED:
        return _error(500, job.error_code or "transcription_failed", job.error_message)
    if job.status == Job.Status.CANCELLED:
        return _error(409, "cancelled", "The job was cancelled before it finished.")
    return await _render(job, options)

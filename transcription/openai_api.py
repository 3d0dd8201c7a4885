"""`POST /v1/audio/transcriptions`, shaped like OpenAI's so its official client works unchanged.

The request creates an ordinary job and waits for a worker to finish it. The view is async so a
long wait holds no thread: Django runs every sync view of an ASGI server in one shared thread.
`AudioTranscriptionCreateApi` describes it to the OpenAPI schema.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from uzwhisper.auth import BearerOrTokenAuthentication, token_from_authorization, user_for_token
from uzwhisper.db import orm_in_thread
from uzwhisper.errors import ApplicationError
from uzwhisper.lib.subtitles import to_srt, to_txt, to_vtt

from .models import Job
from .payloads import segment_payload
from .selectors import job_segments
from .services.jobs import check_upload_size, job_create

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
TIMESTAMP_GRANULARITIES = ("word", "segment")
PROMPT_MAX_CHARS = 1000
ERROR_TYPES = ("invalid_request_error", "server_error")
# OpenAI's verbose_json names the language in English words.
LANGUAGE_NAMES = {"uz": "uzbek", "ru": "russian"}
_POLL_SECONDS = 0.2


def _error(status: int, code: str, message: str, param: str | None = None) -> JsonResponse:
    kind = ERROR_TYPES[0] if status < 500 else ERROR_TYPES[1]
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JsonResponse(body, status=status)


@orm_in_thread
def _user_for_request(request: HttpRequest):
    key = token_from_authorization(request.headers.get("Authorization", ""))
    return user_for_token(key) if key else None


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
    if not granularities <= set(TIMESTAMP_GRANULARITIES):
        raise ApplicationError(
            "invalid_timestamp_granularities",
            "timestamp_granularities[] takes word and/or segment.",
        )
    return {
        "response_format": response_format,
        "language": language,
        "prompt": form.get("prompt", "")[:PROMPT_MAX_CHARS],
        "words": "word" in granularities,
    }


@orm_in_thread
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


@orm_in_thread
def _job_state(job_id) -> Job:
    return Job.objects.get(id=job_id)


@orm_in_thread
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


# --- the OpenAPI schema ---------------------------------------------------------------------------

_OpenAIError = inline_serializer(
    "OpenAIError",
    {
        "error": inline_serializer(
            "OpenAIErrorDetail",
            {
                "message": serializers.CharField(),
                "type": serializers.ChoiceField(ERROR_TYPES),
                "param": serializers.CharField(allow_null=True),
                "code": serializers.CharField(help_text="Stable, e.g. not_audio, timeout."),
            },
        )
    },
)
_TranscriptionJson = inline_serializer("OpenAITranscription", {"text": serializers.CharField()})
_TranscriptionVerboseJson = inline_serializer(
    "OpenAITranscriptionVerbose",
    {
        "task": serializers.CharField(default="transcribe"),
        "language": serializers.CharField(help_text="In English words: russian, uzbek."),
        "duration": serializers.FloatField(help_text="Seconds of audio."),
        "text": serializers.CharField(),
        "segments": inline_serializer(
            "OpenAITranscriptionSegment",
            {
                "id": serializers.IntegerField(),
                "seek": serializers.IntegerField(),
                "start": serializers.FloatField(),
                "end": serializers.FloatField(),
                "text": serializers.CharField(),
                "tokens": serializers.ListField(child=serializers.IntegerField()),
                "temperature": serializers.FloatField(),
                "avg_logprob": serializers.FloatField(),
                "compression_ratio": serializers.FloatField(),
                "no_speech_prob": serializers.FloatField(),
            },
            many=True,
        ),
        "words": inline_serializer(
            "OpenAITranscriptionWord",
            {
                "word": serializers.CharField(),
                "start": serializers.FloatField(),
                "end": serializers.FloatField(),
            },
            many=True,
            required=False,
            help_text="Only with timestamp_granularities[]=word.",
        ),
    },
)


def _error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(_OpenAIError, description=description)


class AudioTranscriptionCreateApi(APIView):
    """The schema of `POST /v1/audio/transcriptions`. drf-spectacular documents DRF views only,
    and DRF views are synchronous while this endpoint waits for a worker: so requests are served
    by the async `audio_transcriptions`, and `as_view()` hands the URL conf that view with this
    class attached for the schema generator. Nothing here runs for a request."""

    authentication_classes = [BearerOrTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="openai_audio_transcriptions_create",
        tags=["openai"],
        summary="Transcribe audio (OpenAI-compatible)",
        description=(
            "OpenAI's `audio.transcriptions.create`: the official client works unchanged with "
            "`base_url=<server>/v1` and an API token as its key. The request creates an ordinary "
            "job (listed with `source=openai`) and waits for a worker, up to "
            "`OPENAI_API_WAIT_SECONDS`; then 504 with code `timeout` and the job to follow. "
            "Errors come in OpenAI's shape. Only `Authorization: Bearer <token>` (or `Token`) "
            "authenticates here, not a browser session."
        ),
        request={
            "multipart/form-data": inline_serializer(
                "OpenAITranscriptionRequest",
                {
                    "file": serializers.FileField(),
                    "model": serializers.CharField(
                        required=False,
                        help_text="Accepted and ignored: the served model answers.",
                    ),
                    "language": serializers.ChoiceField(
                        Job.Language.choices,
                        default=Job.Language.AUTO,
                        help_text="Left out: detected between Uzbek and Russian.",
                    ),
                    "prompt": serializers.CharField(
                        required=False,
                        help_text=f"Initial prompt; cut to {PROMPT_MAX_CHARS} characters.",
                    ),
                    "response_format": serializers.ChoiceField(RESPONSE_FORMATS, default="json"),
                    "timestamp_granularities[]": serializers.ListField(
                        child=serializers.ChoiceField(TIMESTAMP_GRANULARITIES),
                        required=False,
                        help_text="verbose_json only; word adds `words`. Default: segment.",
                    ),
                },
            )
        },
        responses={
            (200, "application/json"): OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="OpenAITranscriptionResult",
                    serializers=[_TranscriptionJson, _TranscriptionVerboseJson],
                    resource_type_field_name=None,
                ),
                description="response_format json (`text` only) or verbose_json.",
            ),
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="response_format text, srt or vtt."
            ),
            400: _error_response(
                "invalid_response_format, unsupported_language, "
                "invalid_timestamp_granularities, missing_file."
            ),
            401: _error_response("invalid_api_key: no or unknown token."),
            409: _error_response("cancelled: the job was cancelled before it finished."),
            413: _error_response("file_too_large, audio_too_long."),
            422: _error_response("The audio cannot be used: not_audio, truncated_audio, …"),
            500: _error_response("The job failed in the worker: its error code."),
            504: _error_response("timeout: still transcribing; the message names the job."),
        },
    )
    def post(self, request):
        raise NotImplementedError("served by audio_transcriptions")

    @classmethod
    def as_view(cls, **initkwargs):
        @functools.wraps(audio_transcriptions)  # keeps csrf_exempt
        async def view(request: HttpRequest) -> HttpResponse:
            return await audio_transcriptions(request)

        view.cls = cls  # type: ignore[attr-defined]
        view.initkwargs = initkwargs  # type: ignore[attr-defined]
        return view

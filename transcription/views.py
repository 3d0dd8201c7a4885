"""Pages: upload, job list, job detail, and the job's audio."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from uzwhisper.asr.languages import LANGUAGE_MODE_DESCRIPTIONS, SAMPLE_RATE
from uzwhisper.audio_responses import audio_file_response
from uzwhisper.errors import ApplicationError
from uzwhisper.lib.units import format_mib

from .exports import EXPORT_FORMATS
from .models import Job
from .selectors import job_get_for_user, job_list

ACCEPTED_AUDIO = ".wav,.mp3,.ogg,.opus,.flac,.m4a,.webm,.oga,.aac,audio/*,video/webm"


def _owned_job_or_404(request: HttpRequest, job_id) -> Job:
    try:
        return job_get_for_user(user=request.user, job_id=job_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def upload_page(request: HttpRequest) -> HttpResponse:
    context = {
        "accepted": ACCEPTED_AUDIO,
        "languages": list(LANGUAGE_MODE_DESCRIPTIONS.items()),
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        "max_upload": format_mib(settings.MAX_UPLOAD_BYTES),
        "max_minutes": round(settings.MAX_AUDIO_SECONDS / 60),
    }
    return render(request, "transcription/upload.html", context)


@login_required
@require_GET
def live_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "transcription/live.html",
        {"languages": list(LANGUAGE_MODE_DESCRIPTIONS.items()), "sample_rate": SAMPLE_RATE},
    )


@login_required
@require_GET
def job_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in Job.Status.values:
        status = None
    source = request.GET.get("source") or None
    if source not in Job.Source.values:
        source = None
    search = (request.GET.get("q") or "").strip()[:200]
    jobs = job_list(
        user=request.user, status=status, source=source, search=search or None, with_preview=True
    )
    page = Paginator(jobs, 20).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status or "",
        "source": source or "",
        "q": search,
        "statuses": Job.Status.choices,
        "sources": Job.Source.choices,
    }
    return render(request, "transcription/job_list.html", context)


@login_required
@require_GET
def job_detail_page(request: HttpRequest, job_id) -> HttpResponse:
    job = _owned_job_or_404(request, job_id)
    return render(request, "transcription/job_detail.html", {"job": job, "formats": EXPORT_FORMATS})


@login_required
@require_GET
def job_audio(request: HttpRequest, job_id) -> HttpResponse:
    job = _owned_job_or_404(request, job_id)
    content_type = mimetypes.guess_type(job.original_name)[0] or "application/octet-stream"
    return audio_file_response(
        handle=job.audio.open("rb"),
        size=job.audio.size,
        content_type=content_type,
        range_header=request.headers.get("Range"),
    )

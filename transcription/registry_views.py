"""Staff pages of the model registry: the versions, promote / roll back / retire, and two versions
compared side by side (WER per slice, clips whose transcript changed)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from uzwhisper.errors import ApplicationError

from .selectors import (
    model_version_compare,
    model_version_events,
    model_version_get,
    model_version_list,
    model_version_production,
)
from .services import registry

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied("The model registry is for staff.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@require_GET
@staff_required
def model_list_page(request: HttpRequest) -> HttpResponse:
    registry.model_version_bundled()
    versions = list(model_version_list())
    production = model_version_production()
    events = model_version_events(version=production)[:10] if production else []
    return render(
        request,
        "transcription/model_list.html",
        {"versions": versions, "production": production, "events": events},
    )


@require_GET
@staff_required
def model_compare_page(request: HttpRequest) -> HttpResponse:
    try:
        left = model_version_get(version_id=request.GET.get("left", ""))
        right = model_version_get(version_id=request.GET.get("right", ""))
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "transcription/model_compare.html",
        {"comparison": model_version_compare(left=left, right=right)},
    )


@require_POST
@staff_required
def model_action(request: HttpRequest, version_id, action: str) -> HttpResponse:
    actor = request.user.get_username()
    try:
        if action == "promote":
            version = registry.model_version_promote(version_id=version_id, actor=actor)
            messages.success(request, f"{version.name} is in production.")
        elif action == "retire":
            registry.model_version_retire(version_id=version_id, actor=actor)
        else:
            raise Http404("No such action.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("transcription:model-list")


@require_POST
@staff_required
def model_rollback(request: HttpRequest) -> HttpResponse:
    try:
        version = registry.model_version_rollback(actor=request.user.get_username())
        messages.success(request, f"Rolled back: {version.name} is in production.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("transcription:model-list")

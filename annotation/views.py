"""Annotation pages: the annotator's home and editor, the review queue and page, and the
admins' figures. Each checks its role through annotation.roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from collection.models import Dialect
from uzwhisper.errors import ApplicationError

from .apis import AnnotationOutputSerializer
from .roles import ADMIN, ANNOTATOR, REVIEWER, has_role, roles_of
from .segments import WORD_LANGUAGES
from .selectors import (
    annotation_get_for_user,
    annotations_of,
    annotator_figures,
    review_view,
    task_get_for_review,
    tasks_for_review,
    tasks_progress,
)
from .services import review_decide, task_next_for_annotator


def role_required(role: str) -> Callable:
    """login_required, then 403 unless the user holds `role`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _any_role(request: HttpRequest) -> None:
    if not roles_of(request.user):
        raise PermissionDenied("Annotation needs the annotator, reviewer or admin role.")


@login_required
@require_GET
def home_page(request: HttpRequest) -> HttpResponse:
    _any_role(request)
    context = {
        "is_annotator": has_role(request.user, ANNOTATOR),
        "is_reviewer": has_role(request.user, REVIEWER),
        "is_admin": has_role(request.user, ADMIN),
        "annotations": annotations_of(user=request.user)[:50],
        "review_count": tasks_for_review().count(),
    }
    return render(request, "annotation/home.html", context)


@role_required(ANNOTATOR)
@require_POST
def next_task(request: HttpRequest) -> HttpResponseRedirect:
    annotation = task_next_for_annotator(user=request.user)
    if annotation is None:
        messages.info(request, "No task is waiting. Thank you!")
        return redirect("annotation:home")
    return redirect("annotation:editor", annotation_id=annotation.id)


@role_required(ANNOTATOR)
@require_GET
def editor_page(request: HttpRequest, annotation_id: Any) -> HttpResponse:
    try:
        annotation = annotation_get_for_user(user=request.user, annotation_id=annotation_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if annotation.annotator_id != request.user.id:
        raise Http404("No such annotation.")
    payload = AnnotationOutputSerializer(annotation).data
    # The editor starts from the annotation's own segments; the prefill would only double the
    # page's weight (1440 segments of a 2-hour recording are some 300 kB).
    payload["task"].pop("machine_segments", None)
    context = {
        "annotation": annotation,
        "payload": payload,
        "dialects": Dialect.choices,
        "word_languages": list(WORD_LANGUAGES),  # the tags a word cycles through
    }
    return render(request, "annotation/editor.html", context)


@role_required(REVIEWER)
@require_GET
def review_queue_page(request: HttpRequest) -> HttpResponse:
    tasks = list(tasks_for_review()[:100])
    return render(request, "annotation/review_queue.html", {"tasks": tasks})


@role_required(REVIEWER)
@require_http_methods(["GET", "POST"])
def review_page(request: HttpRequest, task_id: Any) -> HttpResponse:
    try:
        task = task_get_for_review(user=request.user, task_id=task_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        try:
            review = review_decide(
                reviewer=request.user,
                annotation_id=request.POST.get("annotation", ""),
                decision=request.POST.get("decision", ""),
                comment=request.POST.get("comment", ""),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("annotation:review", task_id=task.id)
        verb = "Approved" if review.decision == "approve" else "Sent back"
        messages.success(request, f"{verb}: {task.original_name}.")
        following = tasks_for_review().exclude(id=task.id).first()
        if following is not None:
            return redirect("annotation:review", task_id=following.id)
        return redirect("annotation:review-queue")
    view = review_view(task=task)
    return render(
        request,
        "annotation/review.html",
        {
            "view": view,
            "task": task,
            "audio_url": reverse("annotation-api:task-audio", kwargs={"task_id": task.id}),
        },
    )


@role_required(ADMIN)
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "annotation/stats.html",
        {"progress": tasks_progress(), "figures": annotator_figures()},
    )

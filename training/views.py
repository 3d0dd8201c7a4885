"""Staff pages: the list of evaluation runs and one run's results by slice."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from uzwhisper.errors import ApplicationError

from .finetune import services as finetune_services
from .finetune.selectors import finetune_run_get_for_user, finetune_run_list, finetune_run_payload
from .forms import FineTuneLaunchForm
from .models import EvaluationRun, FineTuneRun
from .reports import slice_label, wer_chart_svg
from .selectors import (
    can_view_evaluations,
    evaluation_item_list,
    evaluation_run_file_stem,
    evaluation_run_get_for_user,
    evaluation_run_list,
)

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-staff get 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_view_evaluations(request.user):
            raise PermissionDenied("Evaluation results are for staff.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _run_or_404(request: HttpRequest, run_id) -> EvaluationRun:
    try:
        return evaluation_run_get_for_user(user=request.user, run_id=run_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


@require_GET
@staff_required
def evaluation_list_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(evaluation_run_list(), 20).get_page(request.GET.get("page"))
    return render(request, "training/evaluation_list.html", {"page": page})


@require_GET
@staff_required
def evaluation_detail_page(request: HttpRequest, run_id) -> HttpResponse:
    run = _run_or_404(request, run_id)
    slices = [{**row, "label": slice_label(row)} for row in run.slices]
    context = {
        "run": run,
        "slices": slices,
        # Built from numbers and escaped labels only: safe to inline.
        "chart": mark_safe(wer_chart_svg(run.slices)) if run.slices else "",  # noqa: S308
        "items": evaluation_item_list(run=run),
    }
    return render(request, "training/evaluation_detail.html", context)


@require_GET
@staff_required
def evaluation_report(request: HttpRequest, run_id) -> HttpResponse:
    run = _run_or_404(request, run_id)
    response = HttpResponse(run.report_markdown, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{evaluation_run_file_stem(run)}.md"'
    return response


@require_GET
@staff_required
def evaluation_chart(request: HttpRequest, run_id, name: str = "") -> HttpResponse:
    """The chart as an SVG file; any name, so the Markdown report's relative link resolves."""
    run = _run_or_404(request, run_id)
    return HttpResponse(wer_chart_svg(run.slices), content_type="image/svg+xml")


# --- fine-tune runs -----------------------------------------------------------------------


def _finetune_or_404(request: HttpRequest, run_id) -> FineTuneRun:
    try:
        return finetune_run_get_for_user(user=request.user, run_id=run_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
@staff_required
def finetune_list_page(request: HttpRequest) -> HttpResponse:
    """The runs, newest first, and the form that launches one (to the `train` queue)."""
    form = FineTuneLaunchForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        training_data, evaluation = form.data_choices()
        try:
            run = finetune_services.finetune_run_create(
                name=data["name"],
                base_version=data["base_version"],
                data=training_data,
                evaluation=evaluation,
                method=data["method"],
                init=data["init"],
                hyperparameters=form.hyperparameters(),
                confirm_overlap=data["confirm_overlap"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("training:finetune-detail", run_id=run.id)
    page = Paginator(finetune_run_list(), 20).get_page(request.GET.get("page"))
    return render(
        request, "training/finetune_list.html", {"page": page, "form": form, "error": error}
    )


@require_GET
@staff_required
def finetune_detail_page(request: HttpRequest, run_id) -> HttpResponse:
    run = _finetune_or_404(request, run_id)
    return render(
        request,
        "training/finetune_detail.html",
        {"run": run, "payload": finetune_run_payload(run)},
    )


@require_POST
@staff_required
def finetune_cancel(request: HttpRequest, run_id) -> HttpResponse:
    run = _finetune_or_404(request, run_id)
    finetune_services.finetune_run_cancel(run_id=run.id)
    return redirect("training:finetune-detail", run_id=run.id)

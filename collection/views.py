"""Pages for volunteers (record, validate) and for admins (progress). The pages do their work
through /api/v1/collection/ (collection.apis); these views only render them, in the language
of collection.page_texts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from .models import Volunteer
from .page_texts import CHOICE_LABELS, ERROR_TEXTS, TEXTS, choice_options, page_language
from .selectors import ProgressRow, collection_progress
from .services import volunteer_for_user


def _volunteer(request: HttpRequest) -> Volunteer:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return volunteer_for_user(user=user)


def _page_context(request: HttpRequest, volunteer: Volunteer | None) -> dict[str, Any]:
    language = page_language(requested=request.GET.get("lang"), volunteer=volunteer)
    other = "ru" if language == "uz" else "uz"
    return {
        "lang": language,
        "t": TEXTS[language],
        "switch_href": f"{request.path}?lang={other}",
        # For the page's script: its texts and the API it calls.
        "page_data": {
            "texts": TEXTS[language],
            "errors": ERROR_TEXTS[language],
            "reasons": CHOICE_LABELS[language]["reason"],
            "api": {
                "profile": reverse("collection-api:profile"),
                "prompts": reverse("collection-api:prompt-next"),
                "clips": reverse("collection-api:clip-list"),
                "lease": reverse("collection-api:validation-lease"),
            },
        },
    }


@login_required
@require_GET
def record_page(request: HttpRequest) -> HttpResponse:
    volunteer = _volunteer(request)
    context = _page_context(request, volunteer)
    language = context["lang"]
    context.update(
        volunteer=volunteer,
        needs_profile=volunteer.consented_at is None,
        options={
            field: choice_options(language=language, field=field)
            for field in ("age_band", "gender", "dialect", "native_language")
        },
    )
    return render(request, "collection/record.html", context)


@login_required
@require_GET
def validate_page(request: HttpRequest) -> HttpResponse:
    volunteer = _volunteer(request)
    context = _page_context(request, volunteer)
    context["reasons"] = choice_options(language=context["lang"], field="reason")
    return render(request, "collection/validate.html", context)


# The bar charts' geometry (SVG user units): a label column, then the bars.
CHART_LABEL_WIDTH = 200
CHART_BAR_WIDTH = 360
CHART_ROW_HEIGHT = 34


def _chart_rows(rows: list[ProgressRow], labels: dict[str, str], not_given: str) -> list[dict]:
    """Each row's figures, label and bar geometry: validated hours and pending clips, each as a
    share of the largest in this breakdown."""
    most_seconds = max((row.validated_seconds for row in rows), default=0) or 1
    most_pending = max((row.pending_clips for row in rows), default=0) or 1
    return [
        {
            "label": labels.get(row.key, row.key) if row.key else not_given,
            "validated_hours": f"{row.validated_hours:.2f}",
            "validated_clips": row.validated_clips,
            "pending_clips": row.pending_clips,
            "invalidated_clips": row.invalidated_clips,
            "y": index * CHART_ROW_HEIGHT,
            "hours_width": round(CHART_BAR_WIDTH * row.validated_seconds / most_seconds, 1),
            "pending_width": round(CHART_BAR_WIDTH * row.pending_clips / most_pending, 1),
        }
        for index, row in enumerate(rows)
    ]


@login_required
@require_GET
def progress_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    context = _page_context(request, None)
    language, texts = context["lang"], context["t"]
    progress = collection_progress()
    labels = CHOICE_LABELS[language]
    breakdowns = [
        ("by_dialect", texts["by_dialect"], progress.by_dialect, labels["dialect"]),
        ("by_gender", texts["by_gender"], progress.by_gender, labels["gender"]),
        ("by_age_band", texts["by_age_band"], progress.by_age_band, labels["age_band"]),
        ("by_language", texts["by_language"], progress.by_language, labels["language"]),
    ]
    context.update(
        progress=progress,
        validated_hours=f"{progress.total.validated_hours:.2f}",
        chart={
            "label_width": CHART_LABEL_WIDTH,
            "bars_x": CHART_LABEL_WIDTH + 8,
            "width": CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 80,
        },
        breakdowns=[
            {
                "id": key,
                "title": title,
                "rows": _chart_rows(rows, names, texts["not_given"]),
                "height": max(len(rows), 1) * CHART_ROW_HEIGHT,
            }
            for key, title, rows, names in breakdowns
        ],
    )
    return render(request, "collection/progress.html", context)

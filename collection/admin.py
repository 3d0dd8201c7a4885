from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Clip, Prompt, Report, TelegramState, Volunteer, Vote
from .selectors import validators_to_review
from .services import prompts_ban, reports_resolve, volunteers_discount_votes


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("text", "language", "domain", "hidden", "banned", "created_at")
    list_filter = ("language", "hidden", "banned", "domain")
    search_fields = ("text",)
    actions = ("ban",)

    @admin.action(description="Ban the selected prompts (never offered again)")
    def ban(self, request: HttpRequest, queryset: QuerySet[Prompt]) -> None:
        banned = prompts_ban(prompt_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{banned} prompts banned.")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("prompt", "reason", "resolved", "created_at")
    list_filter = ("resolved", "reason")
    search_fields = ("prompt__text",)
    actions = ("uphold", "dismiss")

    @admin.action(description="Uphold: ban the reported prompts")
    def uphold(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        resolved = reports_resolve(report_ids=queryset.values_list("id", flat=True), uphold=True)
        self.message_user(request, f"{resolved} reports upheld; their prompts are banned.")

    @admin.action(description="Dismiss: offer the prompts again")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        resolved = reports_resolve(report_ids=queryset.values_list("id", flat=True), uphold=False)
        self.message_user(request, f"{resolved} reports dismissed.")


class AboveDisagreementThreshold(admin.SimpleListFilter):
    title = "validator agreement"
    parameter_name = "disagreement"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("high", "Above the disagreement threshold")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Volunteer]) -> QuerySet[Volunteer]:
        if self.value() != "high":
            return queryset
        return queryset.filter(id__in=[row.volunteer.id for row in validators_to_review()])


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ("pseudonym", "dialect", "age_band", "gender", "votes_discounted")
    list_filter = (
        AboveDisagreementThreshold,
        "votes_discounted",
        "dialect",
        "age_band",
        "gender",
    )
    actions = ("discount_votes", "count_votes")

    @admin.action(description="Discount their votes (on pending clips and from now on)")
    def discount_votes(self, request: HttpRequest, queryset: QuerySet[Volunteer]) -> None:
        changed = volunteers_discount_votes(
            volunteer_ids=queryset.values_list("id", flat=True), discounted=True
        )
        self.message_user(request, f"Votes of {changed} volunteers discounted.")

    @admin.action(description="Count their votes again")
    def count_votes(self, request: HttpRequest, queryset: QuerySet[Volunteer]) -> None:
        changed = volunteers_discount_votes(
            volunteer_ids=queryset.values_list("id", flat=True), discounted=False
        )
        self.message_user(request, f"Votes of {changed} volunteers count again.")


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "up_votes", "down_votes", "source", "duration_s", "created_at")
    list_filter = ("status", "source", "prompt__language")
    readonly_fields = ("checks", "speaker_profile", "sha256")


admin.site.register(Vote)
admin.site.register(TelegramState)

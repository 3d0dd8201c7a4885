from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Clip, Prompt, Report, Volunteer, Vote
from .services import prompts_ban


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
    list_filter = ("reason", "resolved")


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ("pseudonym", "dialect", "age_band", "gender", "votes_discounted")
    list_filter = ("dialect", "age_band", "gender", "votes_discounted")


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "up_votes", "down_votes", "source", "created_at")
    list_filter = ("status", "source")


admin.site.register(Vote)

from __future__ import annotations

from django.contrib import admin

from .models import EvaluationItem, EvaluationRun


class EvaluationItemInline(admin.TabularInline):
    model = EvaluationItem
    extra = 0
    can_delete = False
    fields = ("line", "audio", "language", "language_decoded", "wer", "cer", "hypothesis")
    readonly_fields = fields
    show_change_link = True


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "name",
        "manifest_name",
        "model_id",
        "language_mode",
        "status",
        "utterances",
        "wer",
        "cer",
    )
    list_filter = ("status", "language_mode", "manifest_name")
    search_fields = ("name", "manifest_name", "model_id", "model_path")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in EvaluationRun._meta.fields]
    inlines = [EvaluationItemInline]


@admin.register(EvaluationItem)
class EvaluationItemAdmin(admin.ModelAdmin):
    list_display = ("run", "line", "audio", "language", "code_switched", "wer", "cer")
    list_filter = ("language", "code_switched", "dialect")
    search_fields = ("audio", "reference", "hypothesis")
    list_select_related = ("run",)
    readonly_fields = [f.name for f in EvaluationItem._meta.fields]

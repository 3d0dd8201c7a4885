from django.contrib import admin

from .models import Job, Segment


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ("index", "start", "end", "text", "avg_logprob", "no_speech_prob")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "owner",
        "status",
        "language_detected",
        "duration_s",
        "real_time_factor",
        "created_at",
    )
    list_filter = ("status", "language_requested", "language_detected")
    search_fields = ("original_name", "sha256", "owner__username")
    readonly_fields = (
        "id",
        "sha256",
        "model_id",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "processing_s",
        "real_time_factor",
        "attempts",
    )
    inlines = [SegmentInline]

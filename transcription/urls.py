from __future__ import annotations

from django.urls import path

from . import apis, registry_views, views

app_name = "transcription"

urlpatterns = [
    path("", views.upload_page, name="upload"),
    path("upload/", apis.JobUploadApi.as_view(), name="upload-create"),
    path("live/", views.live_page, name="live"),
    path("jobs/", views.job_list_page, name="job-list"),
    path("jobs/<uuid:job_id>/", views.job_detail_page, name="job-detail"),
    path("jobs/<uuid:job_id>/audio", views.job_audio, name="job-audio"),
    path("models/", registry_views.model_list_page, name="model-list"),
    path("models/compare/", registry_views.model_compare_page, name="model-compare"),
    path("models/rollback/", registry_views.model_rollback, name="model-rollback"),
    path(
        "models/<uuid:version_id>/<str:action>/",
        registry_views.model_action,
        name="model-action",
    ),
]

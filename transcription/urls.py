from __future__ import annotations

from django.urls import path

from . import apis, views

app_name = "transcription"

urlpatterns = [
    path("", views.upload_page, name="upload"),
    path("upload/", apis.JobUploadApi.as_view(), name="upload-create"),
    path("live/", views.live_page, name="live"),
    path("jobs/", views.job_list_page, name="job-list"),
    path("jobs/<uuid:job_id>/", views.job_detail_page, name="job-detail"),
    path("jobs/<uuid:job_id>/audio", views.job_audio, name="job-audio"),
]

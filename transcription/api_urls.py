from __future__ import annotations

from django.urls import path

from . import apis

app_name = "api"

urlpatterns = [
    path("jobs/", apis.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<str:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:job_id>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<str:job_id>/segments/", apis.JobSegmentsApi.as_view(), name="job-segments"),
    path(
        "jobs/<str:job_id>/transcript/<str:fmt>/",
        apis.JobTranscriptApi.as_view(),
        name="job-transcript",
    ),
]

from __future__ import annotations

from django.urls import path

from . import apis

app_name = "annotation-api"

urlpatterns = [
    path("tasks/", apis.TaskCreateApi.as_view(), name="task-create"),
    path("tasks/next/", apis.TaskNextApi.as_view(), name="task-next"),
    path("tasks/<str:task_id>/audio/", apis.TaskAudioApi.as_view(), name="task-audio"),
    path("tasks/<str:task_id>/peaks/", apis.TaskPeaksApi.as_view(), name="task-peaks"),
    path("tasks/<str:task_id>/review/", apis.ReviewTaskApi.as_view(), name="task-review"),
    path(
        "annotations/<str:annotation_id>/",
        apis.AnnotationDetailApi.as_view(),
        name="annotation-detail",
    ),
    path(
        "annotations/<str:annotation_id>/draft/",
        apis.AnnotationDraftApi.as_view(),
        name="annotation-draft",
    ),
    path(
        "annotations/<str:annotation_id>/submit/",
        apis.AnnotationSubmitApi.as_view(),
        name="annotation-submit",
    ),
    path(
        "annotations/<str:annotation_id>/release/",
        apis.AnnotationReleaseApi.as_view(),
        name="annotation-release",
    ),
    path(
        "annotations/<str:annotation_id>/review/",
        apis.ReviewDecideApi.as_view(),
        name="annotation-review",
    ),
]

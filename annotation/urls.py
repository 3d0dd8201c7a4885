from __future__ import annotations

from django.urls import path

from . import views

app_name = "annotation"

urlpatterns = [
    path("", views.home_page, name="home"),
    path("next/", views.next_task, name="next"),
    path("a/<uuid:annotation_id>/", views.editor_page, name="editor"),
    path("review/", views.review_queue_page, name="review-queue"),
    path("review/<uuid:task_id>/", views.review_page, name="review"),
    path("stats/", views.stats_page, name="stats"),
]

from __future__ import annotations

from django.urls import path

from . import views

app_name = "collection"

urlpatterns = [
    path("record/", views.record_page, name="record"),
    path("validate/", views.validate_page, name="validate"),
    path("progress/", views.progress_page, name="progress"),
]

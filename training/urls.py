from __future__ import annotations

from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.evaluation_list_page, name="evaluation-list"),
    path("runs/", views.finetune_list_page, name="finetune-list"),
    path("runs/<uuid:run_id>/", views.finetune_detail_page, name="finetune-detail"),
    path("runs/<uuid:run_id>/cancel/", views.finetune_cancel, name="finetune-cancel"),
    path("<uuid:run_id>/", views.evaluation_detail_page, name="evaluation-detail"),
    path("<uuid:run_id>/report.md", views.evaluation_report, name="evaluation-report"),
    path("<uuid:run_id>/<str:name>.svg", views.evaluation_chart, name="evaluation-chart"),
]

from __future__ import annotations

from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.evaluation_list_page, name="evaluation-list"),
    path("<uuid:run_id>/", views.evaluation_detail_page, name="evaluation-detail"),
    path("<uuid:run_id>/report.md", views.evaluation_report, name="evaluation-report"),
    path("<uuid:run_id>/<str:name>.svg", views.evaluation_chart, name="evaluation-chart"),
]

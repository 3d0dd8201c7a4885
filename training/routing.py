from __future__ import annotations

from django.urls import path

from .consumers import FineTuneRunConsumer

websocket_urlpatterns = [
    path("ws/training/runs/<uuid:run_id>/", FineTuneRunConsumer.as_asgi()),
]

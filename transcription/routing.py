from __future__ import annotations

from django.urls import path

from .consumers import JobProgressConsumer
from .stream_consumer import StreamConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobProgressConsumer.as_asgi()),
    path("ws/stream/", StreamConsumer.as_asgi()),
]

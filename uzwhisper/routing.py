from __future__ import annotations

from transcription.routing import websocket_urlpatterns as transcription_ws

websocket_urlpatterns = [*transcription_ws]

from __future__ import annotations

from training.routing import websocket_urlpatterns as training_ws
from transcription.routing import websocket_urlpatterns as transcription_ws

# The composition root wires every app's sockets, as urls.py includes every app's pages.
websocket_urlpatterns = [*transcription_ws, *training_ws]

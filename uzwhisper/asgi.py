"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os
from collections.abc import Callable

from django.core.asgi import get_asgi_application

from uzwhisper.local_dirs import make_static_root

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
# WhiteNoise looks for STATIC_ROOT as the handler below loads the middleware.
make_static_root()
# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from uzwhisper.auth import BrowserOriginValidator, TokenQueryAuthMiddleware  # noqa: E402
from uzwhisper.routing import websocket_urlpatterns  # noqa: E402


async def lifespan(scope: dict, receive: Callable, send: Callable) -> None:
    """Start-up and shutdown. In the embedded mode (no Redis) the web process runs live sessions
    itself: its stream worker starts loading the model at start-up, not at the first stream."""
    from django.conf import settings

    from transcription.stream_worker import ensure_in_process_worker, stop_in_process_worker

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.STREAM_WORKER_IN_PROCESS:
                ensure_in_process_worker()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_in_process_worker(within=4)
            await send({"type": "lifespan.shutdown.complete"})
            return


class InProcessStreamWorker:
    """Embedded mode: makes sure the web process's stream worker runs before a socket is
    served, for servers that skip the lifespan protocol (uvicorn --lifespan off, daphne).
    Consumers only talk to it through the channel layer."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        from django.conf import settings

        if settings.STREAM_WORKER_IN_PROCESS:
            from transcription.stream_worker import ensure_in_process_worker

            ensure_in_process_worker()
        await self.app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "lifespan": lifespan,
        "websocket": InProcessStreamWorker(
            BrowserOriginValidator(
                AuthMiddlewareStack(TokenQueryAuthMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)

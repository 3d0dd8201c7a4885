"""Shared fixtures: test speech, API clients, and real processes (Celery worker, ASGI server)
running against the test database and the Redis broker. The helpers behind them are in
tests/support.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.support import (
    CLIPS,
    ChildProcess,
    Clip,
    flush_test_redis,
    start_asgi_server,
    start_stream_worker,
    start_worker,
)


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test gets its own channel layer instance. pytest-asyncio runs each async test on an
    event loop of its own, and channels_redis keeps locks and connections bound to the loop that
    first used them: a layer shared across tests fails with "bound to a different event loop"."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(scope="session", autouse=True)
def static_root() -> None:
    """Pages go through WhiteNoise here as in the web process, which makes STATIC_ROOT as it
    starts (uzwhisper.asgi); without it WhiteNoise warns on every test client."""
    from uzwhisper.local_dirs import make_static_root

    make_static_root()


@pytest.fixture(scope="session")
def clips() -> dict[str, Clip]:
    return CLIPS


@pytest.fixture
def ru_clip() -> Clip:
    return CLIPS["demo-nogo"]


@pytest.fixture
def uz_clip() -> Clip:
    return CLIPS["usc_1131474547_2_29208_1"]


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def token(user):
    from tests.factories import TokenFactory

    return TokenFactory(user=user)


@pytest.fixture
def api_client(token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    client.user = token.user
    return client


# --- real processes ---------------------------------------------------------------------


@pytest.fixture
def stream_worker(django_db_setup, django_db_blocker) -> Iterator[ChildProcess]:
    """A live-stream worker with one slot. Per test, so a test may kill it."""
    worker = start_stream_worker()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[ChildProcess]:
    """A real Celery worker with the bundled model, on the Redis broker and the test database."""
    flush_test_redis()
    worker = start_worker("worker", queue=settings.CELERY_ASR_QUEUE)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The ASGI app served by uvicorn on loopback, against the test database."""
    server = start_asgi_server("asgi-server")
    yield server.url
    server.stop()

"""Database connections under ASGI: one bounded pool per process instead of a persistent
connection per request thread (which ran PostgreSQL out of connections at 32 concurrent
requests)."""

from __future__ import annotations

import asyncio
import collections
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.db import OperationalError, connection

from tests.factories import TokenFactory, make_job
from tests.support import PYTHON, ROOT, AsgiServer, process_env, start_asgi_server

POOL_MAX_SIZE = 4  # per server worker process
SERVER_APP_NAME = "uzwhisper-pool-test-server"


def test_postgres_uses_a_pool_and_no_persistent_connections():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    assert options["pool"] == {"min_size": 2, "max_size": 10, "timeout": 10.0}


def test_pool_sizes_come_from_the_environment():
    code = (
        "from django.conf import settings; "
        "d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['OPTIONS']['pool'])"
    )
    env = process_env(
        DJANGO_SETTINGS_MODULE="uzwhisper.settings",
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE="3",
        DB_POOL_TIMEOUT="2.5",
    )
    out = subprocess.run(
        [PYTHON, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "0 {'min_size': 1, 'max_size': 3, 'timeout': 2.5}"


@pytest.mark.django_db(transaction=True)
def test_a_full_pool_fails_after_its_timeout_with_a_clear_error():
    from django.db.backends.postgresql.base import DatabaseWrapper

    # A pool of one connection of its own (keyed by alias), so the test's pool is untouched.
    tiny = DatabaseWrapper(
        {
            **connection.settings_dict,
            "OPTIONS": {"pool": {"min_size": 0, "max_size": 1, "timeout": 0.5}},
        },
        alias="tiny-pool",
    )
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_only_connection() -> None:
        holder = DatabaseWrapper(tiny.settings_dict, alias="tiny-pool")
        holder.ensure_connection()
        holder_ready.set()
        release.wait(10)
        holder.close()

    thread = threading.Thread(target=hold_the_only_connection)
    thread.start()
    try:
        assert holder_ready.wait(10)
        started = time.monotonic()
        with pytest.raises(OperationalError, match=r"couldn't get a connection after 0\.50 sec"):
            tiny.ensure_connection()
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join()
        tiny.close_pool()


@pytest.fixture
def two_worker_server(django_db_setup, django_db_blocker) -> Iterator[AsgiServer]:
    # The deployed settings (tests.settings changes nothing about connections), on the test
    # database.
    server = start_asgi_server(
        "asgi-server-2-workers",
        workers=2,
        DJANGO_SETTINGS_MODULE="uzwhisper.settings",
        DB_POOL_MAX_SIZE=str(POOL_MAX_SIZE),
        PGAPPNAME=SERVER_APP_NAME,  # libpq names the server's connections by this
    )
    yield server
    server.stop()


async def _get_concurrently(url: str, token: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(count)))
    return [response.status_code for response in responses]


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER_APP_NAME]
        )
        return cursor.fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_answer_100_concurrent_requests_without_errors(two_worker_server, ru_clip):
    token = TokenFactory()
    job = make_job(owner=token.user, path=ru_clip.path)
    url = f"{two_worker_server.url}/api/v1/jobs/{job.id}/"

    statuses = asyncio.run(_get_concurrently(url, token.key, 100))

    assert collections.Counter(statuses) == {200: 100}, two_worker_server.log()[-3000:]
    assert 0 < _server_connections() <= 2 * POOL_MAX_SIZE  # each worker holds at most its pool

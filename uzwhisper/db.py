"""ORM work called from async code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import DatabaseSyncToAsync


def orm_in_thread(func: Callable[..., Any]) -> Any:
    """Run `func` in the event loop's thread pool, like `sync_to_async(thread_sensitive=False)`,
    and give that thread's database connection back to the pool when it returns.

    Those threads outlive any request, so a connection they kept would be lost to the pool (of
    DB_POOL_MAX_SIZE) for good. Channels' `database_sync_to_async` does the same for the
    shared sync thread; this one does not queue behind it."""
    return DatabaseSyncToAsync(func, thread_sensitive=False)

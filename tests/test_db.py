from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from uzwhisper.db import orm_in_thread


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_orm_in_thread_gives_the_threads_connection_back():
    @orm_in_thread
    def count_users():
        # The calling thread's own wrapper, to look at once the call is over.
        return get_user_model().objects.count(), connections["default"]

    count, wrapper = await count_users()

    assert count == 0
    assert wrapper.connection is None  # returned to the pool, not kept by the pool thread

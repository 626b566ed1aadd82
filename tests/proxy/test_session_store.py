"""The session engine: one cache object per process, whatever the asyncio context."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.contrib.sessions.backends.cache import SessionStore as DjangoCacheStore

from plugit_proxy.djangointernals import session_cache
from plugit_proxy.sessionstore import SessionStore, shared_cache


async def test_every_request_context_shares_one_cache_object() -> None:
    # Under ASGI each request is its own asyncio context: Django's engine would build a new
    # cache object (for the disk cache, new SQLite connections) in each.
    async def open_store() -> SessionStore:
        return SessionStore()

    stores = await asyncio.gather(*(asyncio.create_task(open_store()) for _ in range(5)))
    caches = {id(session_cache(store)) for store in stores}
    assert caches == {id(shared_cache(settings.SESSION_CACHE_ALIAS))}


async def test_sessions_saved_are_read_back_from_another_context() -> None:
    store = SessionStore()
    await store.aset("color", "blue")
    await store.asave()

    async def read(key: str) -> str | None:
        return await SessionStore(key).aget("color")

    assert await asyncio.create_task(read(store.session_key or "")) == "blue"


def test_django_keeps_the_engine_cache_where_djangointernals_looks() -> None:
    # Fails on a Django upgrade that renames the attribute: update djangointernals.py.
    assert session_cache(DjangoCacheStore()) is not None, "update plugit_proxy/djangointernals.py"

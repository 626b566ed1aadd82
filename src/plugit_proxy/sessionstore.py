"""Django's cache session engine, with one cache object per process.

Django keeps its cache connections per asyncio context under ASGI, so the stock engine's
`caches[alias]` builds a new cache object for every request: for the disk cache that is
several SQLite connections opened per page (a worker spent most of its time there). The
shared caches here are safe to share (the disk cache keeps a connection per thread, the Redis
cache a client per event loop), so the store takes the process's one object instead.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from .djangointernals import set_session_cache

__all__ = ["SessionStore", "shared_cache"]


@functools.cache
def shared_cache(alias: str) -> BaseCache:
    """Give this process's one cache object for `alias` (made on first use)."""
    return caches.create_connection(alias)


class SessionStore(CacheSessionStore):
    """Sessions in the shared cache named by SESSION_CACHE_ALIAS (Django's cache engine)."""

    def __init__(self, session_key: str | None = None) -> None:
        SessionBase.__init__(self, session_key)
        set_session_cache(self, shared_cache(settings.SESSION_CACHE_ALIAS))

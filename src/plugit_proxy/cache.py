# ruff: noqa: ASYNC109 - the async twins keep Django's `timeout` parameter
"""Django cache backends whose async methods really are async.

Django's stock backends implement `aget`/`aset` as `sync_to_async(..., thread_sensitive=True)`:
every call hops to one shared thread, which is what the page pipeline must avoid. The local
memory backend never blocks, so its async twins call the sync methods directly; the Redis
backend talks to Redis through `redis.asyncio`, one client per event loop, with Django's keys
and serializer so both flavours see the same entries. The disk backend (the embedded default)
is one cache for every worker process of a proxy: its async twins run inline too, as a read
never waits and a write waits a few milliseconds at most (see `DiskCache`).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from diskcache import DjangoCache  # type: ignore[import-untyped]
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis import asyncio as aioredis

__all__ = ["DiskCache", "LocMemCache", "RedisCache"]


class LocMemCache(DjangoLocMemCache):
    """Process memory cache; its async methods run inline (they never block)."""

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self.get(key, default, version)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self.set(key, value, timeout, version)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self.add(key, value, timeout, version)

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return self.delete(key, version)

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return self.has_key(key, version)

    async def aclose(self, **kwargs: Any) -> None:
        return None


class RedisCache(DjangoRedisCache):
    """Redis cache; async methods use `redis.asyncio` on the running loop."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aioredis.Redis
        ] = weakref.WeakKeyDictionary()

    def _aclient(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self._servers[0])  # type: ignore[attr-defined]
            self._async_clients[loop] = client
        return client

    def _expiry(self, timeout: Any) -> int | None:
        seconds = self.get_backend_timeout(timeout)
        return None if seconds is None else max(int(seconds), 0)

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        raw = await self._aclient().get(self.make_and_validate_key(key, version=version))
        return default if raw is None else self._cache._serializer.loads(raw)  # type: ignore[attr-defined]

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        await self._store(key, value, timeout, version, only_new=False)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return await self._store(key, value, timeout, version, only_new=True)

    async def _store(
        self, key: Any, value: Any, timeout: Any, version: int | None, *, only_new: bool
    ) -> bool:
        redis_key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry(timeout)
        client = self._aclient()
        if expiry == 0:
            await client.delete(redis_key)
            return False
        data = self._cache._serializer.dumps(value)  # type: ignore[attr-defined]
        return bool(await client.set(redis_key, data, ex=expiry, nx=only_new))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        redis_key = self.make_and_validate_key(key, version=version)
        return bool(await self._aclient().delete(redis_key))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        redis_key = self.make_and_validate_key(key, version=version)
        return bool(await self._aclient().exists(redis_key))

    async def aclose(self, **kwargs: Any) -> None:
        """Close the client of the running loop (call it on lifespan shutdown)."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class DiskCache(DjangoCache):  # type: ignore[misc]
    """A cache in a folder (diskcache: SQLite shards in WAL mode), shared by every process.

    A read never waits for a writer (WAL), so it costs a few tens of microseconds
    (bench/cache_hit.py). A write waits at most `DATABASE_TIMEOUT` (10 ms by default) for
    another process's write and then gives up without retrying: a cache may forget, and the
    event loop must not stall. So the async twins run inline, with no thread hop. Entries
    expire with their timeout; past `size_limit` (OPTIONS) the oldest stored are evicted.
    """

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self.get(key, default, version)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self.set(key, value, timeout, version, retry=False)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return bool(self.add(key, value, timeout, version, retry=False))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return bool(self.delete(key, version, retry=False))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self.has_key(key, version))

    async def aclose(self, **kwargs: Any) -> None:
        self.close()

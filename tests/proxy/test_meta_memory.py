"""Metas kept in the process until their `Expire` date: steady pages read no cache for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from plugit.testing import LiveServer
from plugit_proxy.cache import LocMemCache

from .conftest import ProxyFactory
from .services import Counting, build_demo_service


class ReadCounting(LocMemCache):
    """A real process-memory cache that counts the reads of meta entries."""

    def __init__(self) -> None:
        super().__init__(f"meta-memory-{uuid.uuid4()}", {})
        self.meta_reads = 0

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        if str(key).startswith("plugit:meta"):
            self.meta_reads += 1
        return await super().aget(key, default, version)


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Counting, LiveServer]]:
    counting = Counting(build_demo_service(str(tmp_path_factory.mktemp("meta-memory"))))
    with LiveServer(counting) as server:
        yield counting, server


async def test_steady_pages_read_no_meta_from_the_shared_cache(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    counting, server = counted
    cache = ReadCounting()
    handle = proxy_factory(server.url, cache=cache, menu_action=None)
    await handle.app.startup()
    assert (await handle.client.get("/plugIt/public")).status_code == 200
    reads, metas = cache.meta_reads, counting.count("meta")
    for _ in range(5):
        assert (await handle.client.get("/plugIt/public")).status_code == 200
    assert cache.meta_reads == reads
    assert counting.count("meta") == metas


async def test_another_worker_takes_the_meta_from_the_shared_cache_once(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    counting, server = counted
    cache = ReadCounting()
    first = proxy_factory(server.url, cache=cache, menu_action=None)
    await first.app.startup()
    assert (await first.client.get("/plugIt/public?first=1")).status_code == 200
    metas = counting.count("meta")
    # A second process sharing the cache: its first page reads the meta there, not upstream.
    second = proxy_factory(server.url, cache=cache, menu_action=None)
    await second.app.startup()
    reads = cache.meta_reads
    for _ in range(3):
        assert (await second.client.get("/plugIt/public?second=1")).status_code == 200
    assert counting.count("meta") == metas
    assert cache.meta_reads == reads + 1

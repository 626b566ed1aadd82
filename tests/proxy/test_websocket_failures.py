"""Sockets to a dead or hanging service, and a browser that does not read."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest

from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig

from .conftest import ProxyFactory
from .socket_kit import (
    FLOOD_CHUNK,
    Record,
    browser_socket,
    closed_with,
    eventually,
    stuck_browser,
)
from .socket_kit import socket_service as build_service

DEADLINE = 2.0
UPSTREAM = UpstreamConfig(connect_timeout=1.0, timeout=30.0, ws_connect_timeout=DEADLINE)
# What may sit in buffers between a service and a browser that reads nothing: the kernel's
# socket buffers on both hops, aiohttp's and uvicorn's bounded ones. The flood stops itself
# at 256 MiB: without backpressure it gets there in well under a second.
BOUNDED = 48 * 1024 * 1024


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_dead_service_is_a_clean_close(proxy_factory: ProxyFactory) -> None:
    handle = proxy_factory(free_port_url(), live=True, upstream=UPSTREAM)
    url = str(handle.client.base_url).rstrip("/")
    async with browser_socket(url, "/plugIt/echo") as browser:
        code, reason = await closed_with(browser)
    assert code == 1014
    assert reason == "The service is unavailable."


async def test_a_hanging_service_is_closed_at_the_deadline(
    proxy_factory: ProxyFactory, silent_server: str
) -> None:
    handle = proxy_factory(silent_server, live=True, upstream=UPSTREAM)
    url = str(handle.client.base_url).rstrip("/")
    async with browser_socket(url, "/plugIt/echo") as browser:
        code, reason = await closed_with(browser)  # closed_with gives up after 20 s
    assert code == 1014
    assert reason == f"The service did not answer within {DEADLINE:g} s."


async def test_a_slow_browser_does_not_make_the_proxy_buffer(
    proxy_factory: ProxyFactory, tmp_path
) -> None:
    record = Record()
    with LiveServer(build_service(str(tmp_path), record)) as service:
        handle = proxy_factory(service.url, live=True, upstream=UPSTREAM)
        url = str(handle.client.base_url).rstrip("/")
        reader, writer = await stuck_browser(url, "/plugIt/flood")
        try:
            assert await eventually(lambda: record.sent > 4 * FLOOD_CHUNK)
            assert not await eventually(lambda: record.sent > BOUNDED, within=3.0)
            stalled = record.sent
            # The browser reads again, a chunk at a time (at most what the buffers between may
            # hold): the flood goes on.
            assert await asyncio.wait_for(read_until(reader, lambda: record.sent > stalled), 20)
        finally:
            writer.close()


async def read_until(reader: asyncio.StreamReader, condition: Callable[[], bool]) -> bool:
    """Read the stuck browser's socket chunk by chunk until `condition`, at most BOUNDED bytes."""
    for _ in range(BOUNDED // FLOOD_CHUNK):
        await reader.readexactly(FLOOD_CHUNK)
        if condition():
            return True
    return False

"""The bulkhead: a hung service holds its own share of connections, never the others'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application
from plugit_proxy.conf import load_configuration
from plugit_proxy.config import Project, ProxyConfig, UpstreamConfig
from plugit_proxy.fromsettings import upstream_from_settings

from .conftest import fresh_cache, serve


class HungServer:
    """A TCP server that accepts connections and never answers; counts what it holds."""

    def __init__(self) -> None:
        self.held: list[asyncio.StreamWriter] = []
        self.holding = asyncio.Condition()
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self.holding:
            self.held.append(writer)
            self.holding.notify_all()

    async def wait_for(self, count: int) -> None:
        async with self.holding:
            await self.holding.wait_for(lambda: len(self.held) >= count)

    async def stop(self) -> None:
        if self._server is not None:  # stop listening first: no new connection to hold
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()
        for writer in self.held:
            writer.close()
            await writer.wait_closed()


@pytest.fixture
async def hung() -> AsyncIterator[HungServer]:
    server = HungServer()
    await server.start()
    yield server
    await server.stop()


async def test_a_hung_service_cannot_take_the_other_services_connections(
    hung: HungServer, demo_service: LiveServer
) -> None:
    upstream = UpstreamConfig(
        connect_timeout=5,
        timeout=30,
        pool_size=4,  # a small pool, so that a hung service could fill it all
        instance_connections=2,
        instance_queue_timeout=0.2,
        breaker_failures=0,
        health_interval=0,  # no probes: the hung service holds the calls of the pages only
    )
    stuck = Project(key="a", name="A", mount="/a/", service_urls=(hung.url,), menu_action=None)
    fine = Project(key="b", name="B", mount="/b/", service_urls=(demo_service.url,))
    app = build_application(
        ProxyConfig(upstream=upstream, projects=(stuck, fine)), cache=fresh_cache()
    )
    proxy = serve(app)
    try:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
            pending = [asyncio.create_task(client.get(f"/a/page{n}")) for n in range(6)]
            await hung.wait_for(2)  # the hung service holds its whole share
            for _ in range(3):
                page = await client.get("/b/public")
                assert page.status_code == 200
                assert "public page" in page.text
            busy = await client.get("/a/more")  # beyond its share: refused without calling
            assert busy.status_code == 503
            assert "busy" in busy.text
            assert "plugit-header" in busy.text
            assert len(hung.held) == 2
            waiting = set(pending)
            while len(waiting) > 2:  # the calls beyond its share are refused, not queued
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                assert {task.result().status_code for task in done} == {503}
            assert len(hung.held) == 2  # the two it holds are still pending
            await hung.stop()  # now they end (the connection is closed under them)
            assert {(await task).status_code for task in waiting} == {502}
    finally:
        await hung.stop()
        proxy.stop()


def test_settings_configure_the_bulkhead() -> None:
    assert upstream_from_settings().instance_connections == 20
    environ = {
        "PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS": "7",
        "PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT": "0.5",
    }
    config = load_configuration(environ=environ).upstream
    assert (config.instance_connections, config.instance_queue_timeout) == (7, 0.5)

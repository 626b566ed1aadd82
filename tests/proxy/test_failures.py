"""A service never hurts the proxy: deadlines, refusals, garbage — clear pages, never tracebacks."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig

from .conftest import ProxyFactory
from .services import Counting, raw_service

FAST = UpstreamConfig(connect_timeout=0.5, timeout=0.5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def hanging_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_refused_connection_is_a_502_page(
    proxy_factory: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    handle = proxy_factory(url, upstream=FAST)
    await handle.app.startup()
    with caplog.at_level(logging.ERROR, logger="plugit_proxy"):
        response = await handle.client.get("/plugIt/some/page")
    assert response.status_code == 502
    assert "Service unavailable" in response.text
    assert "plugit-header" in response.text
    assert "Traceback" not in response.text
    logged = caplog.text
    assert url in logged
    assert "/plugIt/some/page" in logged


async def test_hanging_service_is_a_fast_504_page(
    proxy_factory: ProxyFactory, hanging_server: str
) -> None:
    handle = proxy_factory(hanging_server, upstream=FAST)
    await handle.app.startup()
    started = time.monotonic()
    response = await handle.client.get("/plugIt/")
    assert response.status_code == 504
    assert time.monotonic() - started < 2.0
    assert "Service timeout" in response.text


async def test_slow_action_is_a_504_page(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, upstream=FAST, menu_action=None)
    await handle.app.startup()
    await handle.client.get("/plugIt/public")  # warm the pool
    started = time.monotonic()
    response = await handle.client.get("/plugIt/slow")
    assert response.status_code == 504
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 200), (b'"just a string"', 200), (b"{}", 200), (b"oops", 503)],
)
async def test_garbage_meta_is_a_502_page(
    proxy_factory: ProxyFactory, body: bytes, status: int
) -> None:
    with LiveServer(raw_service(body, status=status)) as server:
        handle = proxy_factory(server.url, upstream=FAST)
        await handle.app.startup()
        response = await handle.client.get("/plugIt/")
    assert response.status_code == 502
    assert "Service unavailable" in response.text


async def test_oversized_answer_is_refused(proxy_factory: ProxyFactory) -> None:
    body = b'{"template_tag": "' + b"x" * 5000 + b'"}'
    with LiveServer(raw_service(body)) as server:
        handle = proxy_factory(server.url, upstream=UpstreamConfig(timeout=1, max_body=1000))
        await handle.app.startup()
        response = await handle.client.get("/plugIt/")
    assert response.status_code == 502
    assert "larger than 1000 bytes" in response.text


async def test_template_that_does_not_compile_is_a_500_page(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/broken")
    assert response.status_code == 500
    assert "Template error" in response.text
    assert "plugit-header" in response.text


async def asgi_get(app: object, path: str) -> int:
    """Send one GET with a raw path (httpx would normalise the dot segments away)."""
    sent: list[dict[str, object]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    return int(sent[0]["status"])  # type: ignore[call-overload]


async def test_dot_segments_never_reach_the_service(
    proxy_factory: ProxyFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from .services import build_demo_service

    counting = Counting(build_demo_service(str(tmp_path_factory.mktemp("dots"))))
    with LiveServer(counting) as server:
        handle = proxy_factory(server.url)
        await handle.app.startup()
        for path in ("/plugIt/x/../../action/raise", "/plugIt/media/../action/raise"):
            assert await asgi_get(handle.app, path) == 404
    assert counting.calls == {}


async def test_unavailable_service_costs_other_services_nothing(
    proxy_factory: ProxyFactory, demo_service: LiveServer, hanging_server: str
) -> None:
    slow = proxy_factory(hanging_server, upstream=UpstreamConfig(connect_timeout=0.5, timeout=2.0))
    fine = proxy_factory(demo_service.url)
    await slow.app.startup()
    await fine.app.startup()
    stuck = asyncio.create_task(slow.client.get("/plugIt/"))
    await asyncio.sleep(0)  # the stuck page is on its way
    assert (await fine.client.get("/plugIt/public")).status_code == 200
    assert not stuck.done()  # answered while the other service hangs
    assert (await stuck).status_code == 504

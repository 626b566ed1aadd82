"""Who reads what went wrong: internal details only in development mode (and, on the
platform, to staff: tests/platform/web/test_error_pages.py). Real services, real closed ports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config

OpenProxy = Callable[..., httpx.AsyncClient]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def open_proxy() -> AsyncIterator[OpenProxy]:
    """`open_proxy(service_url, dev=False)`: a standalone proxy on a real socket, and a client."""
    opened: list[tuple[LiveServer, httpx.AsyncClient]] = []

    def start(url: str, *, dev: bool = False) -> httpx.AsyncClient:
        config = replace(make_config(url), dev=dev)
        server = LiveServer(build_application(config, cache=fresh_cache())).start()
        client = httpx.AsyncClient(base_url=server.url, timeout=10)
        opened.append((server, client))
        return client

    yield start
    for server, client in opened:
        await client.aclose()
        server.stop()


async def test_a_dead_service_hides_its_address_from_visitors(open_proxy: OpenProxy) -> None:
    port = closed_port()
    client = open_proxy(f"http://127.0.0.1:{port}/svc/")
    for mode in ("ano", "adm"):  # not even the project's administrator sees it
        await client.get(f"/plugIt/ebuio_setUser?mode={mode}")
        page = await client.get("/plugIt/page")
        assert page.status_code == 502
        assert "The service could not be reached." in page.text
        assert f":{port}" not in page.text
        assert "Connect call failed" not in page.text
        assert "plugit-error-detail" not in page.text
        assert 'class="navbar ' in page.text  # the layout's header
        assert '<a class="plugit-error-home" href="/plugIt/">' in page.text  # a way back


async def test_development_mode_shows_the_socket_error(open_proxy: OpenProxy) -> None:
    port = closed_port()
    client = open_proxy(f"http://127.0.0.1:{port}/svc/", dev=True)
    page = await client.get("/plugIt/page")
    assert page.status_code == 502
    assert "The service could not be reached." in page.text
    assert "plugit-error-detail" in page.text
    assert f"Connect call failed (&#x27;127.0.0.1&#x27;, {port})" in page.text  # escaped
    assert f"http://127.0.0.1:{port}/svc/meta/page" in page.text


async def test_a_template_error_names_its_line_in_development_mode_only(
    open_proxy: OpenProxy, demo_service: LiveServer
) -> None:
    hidden = await open_proxy(demo_service.url).get("/plugIt/broken")
    assert hidden.status_code == 500
    assert "The page&#x27;s template does not compile." in hidden.text
    assert "Unexpected end of expression" not in hidden.text
    shown = await open_proxy(demo_service.url, dev=True).get("/plugIt/broken")
    assert shown.status_code == 500
    assert "Unexpected end of expression in if tag" in shown.text
    assert "plugit-error-detail" in shown.text

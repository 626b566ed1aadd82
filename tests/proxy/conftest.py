"""Fixtures of the proxy tests: real SDK services on real sockets, the proxy in front.

The proxy runs either in-process (httpx's ASGI transport, lifespan driven by the fixture) or
on its own real socket (`LiveServer`, uvicorn on port 0). Services always run on real
sockets: the proxy's upstream client is aiohttp, and what it does on the wire is the point.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

os.environ.setdefault("PLUGIT_DATA_DIR", tempfile.mkdtemp(prefix="plugit-proxy-tests-"))
os.environ.setdefault("PLUGIT_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")

import django

django.setup()

import httpx  # noqa: E402
import pytest  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from plugit.testing import LiveServer  # noqa: E402
from plugit_proxy.application import ProxyApplication  # noqa: E402
from plugit_proxy.asgi import build_application  # noqa: E402
from plugit_proxy.cache import LocMemCache  # noqa: E402
from plugit_proxy.config import Project, ProxyConfig, UpstreamConfig  # noqa: E402

from .services import build_demo_service  # noqa: E402

ProxyFactory = Callable[..., "ProxyHandle"]


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_service(demo_root: str) -> Iterator[LiveServer]:
    """The demo service (every kind of action), on a real socket for the whole session."""
    with LiveServer(build_demo_service(demo_root)) as server:
        yield server


def make_config(url: str, **project: object) -> ProxyConfig:
    upstream = project.pop("upstream", None) or UpstreamConfig(connect_timeout=1.0, timeout=2.0)
    base = Project(key="test", name="Test", mount="/plugIt/", service_urls=(url,))
    return ProxyConfig(
        platform_name="PlugIt Test",
        upstream=upstream,  # type: ignore[arg-type]
        projects=(replace(base, **project),),  # type: ignore[arg-type]
    )


def fresh_cache() -> LocMemCache:
    return LocMemCache(f"test-{uuid.uuid4()}", {})


class ProxyHandle:
    """A proxy application and a client that reaches it."""

    def __init__(self, app: ProxyApplication, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client


@pytest.fixture
async def proxy_factory() -> AsyncIterator[ProxyFactory]:
    """`proxy_factory(service_url, live=False, cache=None, **project)`: a proxy and client."""
    opened: list[tuple[ProxyApplication, httpx.AsyncClient, LiveServer | None]] = []

    def factory(
        url: str,
        *,
        live: bool = False,
        cache: object = None,
        peer: str = "127.0.0.1",
        **project: object,
    ) -> ProxyHandle:
        app = build_application(make_config(url, **project), cache=cache or fresh_cache())  # type: ignore[arg-type]
        server: LiveServer | None = None
        if live:
            server = LiveServer(app).start()
            client = httpx.AsyncClient(base_url=server.url, timeout=10)
        else:
            transport = httpx.ASGITransport(app, client=(peer, 4321))
            client = httpx.AsyncClient(
                transport=transport, base_url="http://testserver", timeout=10
            )
        opened.append((app, client, server))
        return ProxyHandle(app, client)

    yield factory
    for app, client, server in opened:
        await client.aclose()
        if server is not None:
            server.stop()
        elif app.started:
            await app.shutdown()


@pytest.fixture
async def proxy(proxy_factory: ProxyFactory, demo_service: LiveServer) -> httpx.AsyncClient:
    """An in-process proxy in front of the demo service, lifespan started."""
    handle = proxy_factory(demo_service.url)
    await handle.app.startup()
    return handle.client


async def as_user(client: httpx.AsyncClient, mode: str) -> None:
    """Switch the simulated user of `client`'s session."""
    response = await client.get(f"/plugIt/ebuio_setUser?mode={mode}")
    assert response.status_code == 302


def serve(app: ASGIApp) -> LiveServer:
    """Start `app` on a real socket (the caller stops it)."""
    return LiveServer(app).start()

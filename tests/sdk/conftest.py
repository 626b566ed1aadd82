"""Two depths for every SDK test: in-process (ASGI transport) and over a real socket.

A test module defines a `service` fixture (module scope); the `client` fixture then runs each
test twice: once through `httpx.ASGITransport`, once against a `LiveServer` (uvicorn on port 0)
that is started the first time the module needs it and stopped when the module ends.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

import plugit
from plugit.testing import LiveServer

ServeFn = Callable[..., LiveServer]
ConnectFn = Callable[..., httpx.AsyncClient]


@pytest.fixture(scope="module")
def live() -> Iterator[ServeFn]:
    """`live(app, host=...)`: the module's live server for that app, started on first use."""
    servers: dict[tuple[int, str], LiveServer] = {}

    def serve(app: ASGIApp, host: str = "127.0.0.1") -> LiveServer:
        key = (id(app), host)
        if key not in servers:
            # As `Service.run` and `plugit serve` do: the guard, not uvicorn, reads
            # X-Forwarded-For (and only with PI_USE_PROXY_IP).
            servers[key] = LiveServer(app, host=host, proxy_headers=False).start()
        return servers[key]

    yield serve
    # Stopping takes a poll interval of uvicorn's (~0.1 s): stop them all at once.
    with concurrent.futures.ThreadPoolExecutor() as pool:
        list(pool.map(LiveServer.stop, servers.values()))


@pytest.fixture(params=["asgi", "live"])
def depth(request: pytest.FixtureRequest) -> str:
    """Which depth the test runs at: `asgi` (in-process) or `live` (real socket)."""
    return str(request.param)


@pytest.fixture
async def connect(depth: str, live: ServeFn) -> AsyncIterator[ConnectFn]:
    """`connect(app, peer=...)`: an httpx client reaching `app` at the test's depth.

    `peer` is the caller's address: in-process it is the ASGI client address, over a socket
    the server is bound to it (so it must be a local address such as 127.0.0.1 or ::1).
    """
    clients: list[httpx.AsyncClient] = []

    def open_client(app: ASGIApp, *, peer: str = "127.0.0.1") -> httpx.AsyncClient:
        if depth == "asgi":
            transport = httpx.ASGITransport(app, client=(peer, 1234))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        else:
            client = httpx.AsyncClient(base_url=live(app, peer).url)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(connect: ConnectFn, service: ASGIApp) -> httpx.AsyncClient:
    """A client for the module's `service`, at the test's depth."""
    return connect(service)


@pytest.fixture
def fresh_default_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """`plugit.app` with no service nor config, no `config` module, the working dir in tmp_path.

    Modules a test writes in tmp_path and imports are forgotten when it ends.
    """
    monkeypatch.setattr(plugit.app, "_service", None)
    monkeypatch.setattr(plugit.app, "_config", None)
    # Other tests put service folders on sys.path (the polls example, the legacy service):
    # their config.py must not stand in for the missing one here.
    paths = [entry for entry in sys.path if not (Path(entry or ".") / "config.py").is_file()]
    monkeypatch.setattr(sys, "path", paths)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PLUGIT_"):
            monkeypatch.delenv(name)
    before = set(sys.modules)
    monkeypatch.delitem(sys.modules, "config", raising=False)
    yield tmp_path
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]

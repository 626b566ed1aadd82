"""The server's own limits (plugit_proxy.serving): request heads capped in size and in time."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application
from plugit_proxy.serving import MAX_HEAD, HeadLimits, server_options

from .conftest import fresh_cache, make_config


class QuickHeads(HeadLimits):
    head_timeout = 0.5


def start(demo_service: LiveServer, **options: Any) -> LiveServer:
    app = build_application(make_config(demo_service.url), cache=fresh_cache())
    return LiveServer(app, **{**server_options(), **options}).start()


@pytest.fixture
def proxy(demo_service: LiveServer) -> Iterator[LiveServer]:
    """The proxy served as `plugit proxy` serves it."""
    server = start(demo_service)
    yield server
    server.stop()


def status_of(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server closes it before the end: the point
        sock.sendall(data)


def test_an_8_mb_cookie_is_refused_while_others_are_served(proxy: LiveServer) -> None:
    head = b"GET /plugIt/public HTTP/1.1\r\nHost: t\r\nCookie: a=" + b"x" * (8 * 1024 * 1024)
    with socket.create_connection((proxy.host, proxy.port), timeout=10) as sock:
        sender = threading.Thread(target=send_quietly, args=(sock, head + b"\r\n\r\n"))
        sender.start()
        with httpx.Client(base_url=proxy.url) as client:
            assert client.get("/plugIt/public").status_code == 200
        assert status_of(sock) == 431
        sender.join()


def test_heads_under_the_cap_and_large_bodies_are_served(proxy: LiveServer) -> None:
    with httpx.Client(base_url=proxy.url) as client:
        cookie = "a=" + "x" * (MAX_HEAD // 2)
        assert client.get("/plugIt/public", headers={"Cookie": cookie}).status_code == 200
        # One large write: head and body arrive together, the body is not counted as head.
        posted = client.post("/plugIt/ebuio_api/user/1", content=b"y" * (MAX_HEAD * 4))
        assert posted.status_code != 431


def test_headers_sent_too_slowly_get_a_408(demo_service: LiveServer) -> None:
    server = start(demo_service, http=QuickHeads)
    try:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(b"GET /plugIt/public HTTP/1.1\r\nHost: t\r\nX-Slow: ")  # and stops
            with httpx.Client(base_url=server.url) as client:
                assert client.get("/plugIt/public").status_code == 200
            assert status_of(sock) == 408
    finally:
        server.stop()

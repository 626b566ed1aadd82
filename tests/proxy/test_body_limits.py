"""Request bodies are capped (413) and timed (408) before the pipeline or Django reads them."""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Iterator

import httpx
import pytest
from django.test import override_settings

from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config, serve

MB = 1024 * 1024
CHUNK = 64 * 1024
# Django answers these paths: it would read (and spool to disk) the whole body before routing.
# A page reads a form body (for its CSRF token) before anything else.
PATHS = ["/plugIt/ebuio_api/user/1", "/admin/", "/plugIt/echo"]
FORM = "Content-Type: application/x-www-form-urlencoded"


@pytest.fixture
def proxy(demo_service: LiveServer) -> Iterator[LiveServer]:
    """The proxy with its default limits, on a real socket."""
    server = serve(build_application(make_config(demo_service.url), cache=fresh_cache()))
    yield server
    server.stop()


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def read_status(sock: socket.socket) -> int:
    """Read the answer's status line (the socket's timeout bounds the wait)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def head(path: str, *lines: str) -> bytes:
    text = f"POST {path} HTTP/1.1\r\nHost: testserver\r\n" + "".join(f"{x}\r\n" for x in lines)
    return (text + "\r\n").encode()


@pytest.mark.parametrize("path", PATHS)
def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    proxy: LiveServer, path: str
) -> None:
    with connect(proxy) as sock:
        sock.sendall(head(path, f"Content-Length: {50 * MB}", FORM))
        assert read_status(sock) == 413  # not one byte of the body was sent


@pytest.mark.parametrize("path", PATHS)
def test_a_chunked_oversized_body_is_cut_off_at_the_cap(proxy: LiveServer, path: str) -> None:
    chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
    sent = 0
    with connect(proxy) as sock:
        sock.sendall(head(path, "Transfer-Encoding: chunked", FORM))
        sock.setblocking(False)
        while sent < 50 * MB:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break  # the proxy answered before the body's end
            assert writable, "the proxy neither answered nor read"
            try:
                sent += sock.send(chunk)  # a partial send breaks the chunking: fine, it is refused
            except (BlockingIOError, ConnectionError):
                break
        sock.setblocking(True)
        status = read_status(sock)
    assert status == 413
    assert sent < 30 * MB  # the cap is 10 MiB; the rest was never read


def test_a_body_under_the_cap_goes_through(proxy: LiveServer) -> None:
    with httpx.Client(base_url=proxy.url) as client:
        page = client.get("/plugIt/")
        found = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', page.text)
        assert found
        form = {"csrfmiddlewaretoken": found.group(1), "thing": "x" * 100_000}
        answer = client.post("/plugIt/echo", data=form)
    assert answer.status_code == 200
    assert answer.json()["form"]["thing"] == ["x" * 100_000]


@pytest.mark.parametrize("path", PATHS)
def test_a_stalled_body_is_a_408_and_others_are_served(demo_service: LiveServer, path: str) -> None:
    with override_settings(PLUGIT_BODY_TIMEOUT="0.5"):
        app = build_application(make_config(demo_service.url), cache=fresh_cache())
    server = serve(app)
    try:
        with connect(server) as sock:
            sock.sendall(head(path, "Content-Length: 100", FORM) + b"x" * 10)
            with httpx.Client(base_url=server.url) as client:  # meanwhile, someone else
                assert client.get("/plugIt/public").status_code == 200
            assert read_status(sock) == 408
    finally:
        server.stop()

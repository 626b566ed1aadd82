"""The cap on a buffered answer holds whatever way the body comes: declared, chunked, compressed."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig

from .conftest import ProxyFactory
from .services import answer_lifespan

LIMIT = 1000
CAPPED = UpstreamConfig(timeout=1, max_body=LIMIT)


def meta_of(size: int) -> bytes:
    """A meta answer of exactly `size` bytes (padded with a key of x)."""
    frame = b'{"template_tag": "t", "pad": ""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


def service_sending(body: bytes, headers: list[tuple[bytes, bytes]]) -> ASGIApp:
    """A service answering every call with `body` and exactly these extra headers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        await asyncio.sleep(0)
        start = [(b"content-type", b"application/json"), *headers]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": body})

    return app


async def status_behind(proxy_factory: ProxyFactory, app: ASGIApp) -> tuple[int, str]:
    with LiveServer(app) as server:
        handle = proxy_factory(server.url, upstream=CAPPED, menu_action=None)
        await handle.app.startup()
        response = await handle.client.get("/plugIt/")
    return response.status_code, response.text


@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT])
async def test_declared_answer_up_to_the_cap_is_read(
    proxy_factory: ProxyFactory, size: int
) -> None:
    body = meta_of(size)
    length = [(b"content-length", str(len(body)).encode())]
    status, text = await status_behind(proxy_factory, service_sending(body, length))
    # Meta, template and action all get this body: the page is the body itself, whole.
    assert (status, text) == (200, body.decode())


async def test_declared_answer_past_the_cap_is_refused(proxy_factory: ProxyFactory) -> None:
    body = meta_of(LIMIT + 1)
    length = [(b"content-length", str(len(body)).encode())]
    status, text = await status_behind(proxy_factory, service_sending(body, length))
    assert status == 502
    assert f"larger than {LIMIT} bytes" in text


async def test_compressed_answer_is_capped_once_decompressed(proxy_factory: ProxyFactory) -> None:
    # 5,000 bytes of meta squeezed into a declared length far under the cap.
    body = gzip.compress(meta_of(5 * LIMIT))
    assert len(body) < LIMIT
    headers = [(b"content-length", str(len(body)).encode()), (b"content-encoding", b"gzip")]
    status, text = await status_behind(proxy_factory, service_sending(body, headers))
    assert status == 502
    assert f"larger than {LIMIT} bytes" in text


async def test_compressed_answer_under_the_cap_is_read(proxy_factory: ProxyFactory) -> None:
    body = gzip.compress(meta_of(LIMIT // 2))
    headers = [(b"content-length", str(len(body)).encode()), (b"content-encoding", b"gzip")]
    status, text = await status_behind(proxy_factory, service_sending(body, headers))
    assert (status, text) == (200, meta_of(LIMIT // 2).decode())

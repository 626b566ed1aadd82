"""Proxy mode behind a network guard that refuses the proxy's address: a 502 that says so.

The service answers with the SDK's own refusal (plugit.guard.refusal_response: a 404 with
`X-Plugit-Guard-Refused`), on a real socket; the proxy runs on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from plugit.guard import refusal_response
from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config


async def guarded(request: Request) -> Response:
    if request.url.path.startswith("/open"):
        return HTMLResponse("<p id='open'>open</p>")
    if request.url.path.startswith("/missing"):
        return Response("Not Found", 404)  # a missing page stays a 404
    return refusal_response("127.0.0.1", debug=True)


@pytest.fixture(scope="module")
def refusing() -> Iterator[LiveServer]:
    app = Starlette(routes=[Route("/{path:path}", guarded)])
    with LiveServer(app) as server:
        yield server


@pytest.mark.parametrize("dev", [True, False], ids=["dev", "production"])
async def test_a_refused_proxy_mode_page_is_a_502_naming_the_refusal(
    refusing: LiveServer, dev: bool
) -> None:
    config = replace(make_config(refusing.url, proxy_mode=True), dev=dev)
    with LiveServer(build_application(config, cache=fresh_cache())) as proxy:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=15) as client:
            assert (await client.get("/plugIt/open")).status_code == 200
            assert (await client.get("/plugIt/missing")).status_code == 404
            page = await client.get("/plugIt/guarded")
    assert page.status_code == 502
    assert "Page not found" not in page.text
    assert "The service could not be reached." in page.text
    refused = "the service refused this proxy&#x27;s address, 127.0.0.1 (its network guard)"
    assert (refused in page.text) is dev  # the detail: development mode (or staff) only

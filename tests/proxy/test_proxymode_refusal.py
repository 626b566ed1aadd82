"""A network guard that refuses the proxy's address, in proxy mode and on a plugitInclude: a
502 that says so, as for page calls (tests/proxy/test_debug_pages.py).

The service answers with the SDK's own refusal (plugit.guard.refusal_response: a 404 with
`X-Plugit-Guard-Refused`), on a real socket; the proxy runs on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit import Service
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


def refusing_includes(root: Path) -> ASGIApp:
    """A service whose page includes `part`, behind a guard that refuses the include's calls."""
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "page.html").write_text(
        '{% extends "plugIt/base.html" %}{% load plugit_tags %}'
        '{% block content %}<p>page</p>{% plugitInclude "part" %}{% endblock %}'
    )
    (root / "templates" / "part.html").write_text("<p>part</p>")
    svc = Service(root=str(root))

    @svc.action("/", template="page.html")
    def page(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/part", template="part.html")
    def part(request: Any) -> dict[str, Any]:
        return {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/part"):
            await refusal_response("127.0.0.1", debug=True)(scope, receive, send)
        else:
            await svc(scope, receive, send)

    return app


async def test_a_refused_include_is_a_502_naming_the_refusal(tmp_path: Path) -> None:
    with LiveServer(refusing_includes(tmp_path)) as service:
        config = replace(make_config(service.url), dev=True)
        with LiveServer(build_application(config, cache=fresh_cache())) as proxy:
            async with httpx.AsyncClient(base_url=proxy.url, timeout=15) as client:
                page = await client.get("/plugIt/")
    assert page.status_code == 502
    assert "the service refused this proxy&#x27;s address, 127.0.0.1" in page.text

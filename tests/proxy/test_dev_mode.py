"""Development mode (PLUGIT_DEV): an edited template or action shows on the next page.

The service is a real one on a real socket. Editing it is what `plugit serve --reload` does:
the process restarts with the new code and template files, so the same URL answers from a
new `Service`. Without development mode the proxy keeps what the protocol lets it keep (the
meta until its `Expire` date, templates by tag, pages for `cache_time`); with it, nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit import Service
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit.utils import cache, only_logged_user, public
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config

BASE = '{% extends "plugIt/base.html" %}'


@dataclass(frozen=True)
class Edition:
    """What the developer wrote: the page's template, the action's words, the access rule."""

    template: str
    words: str
    members_only: bool = False


FIRST = Edition("<p id='tpl'>template one</p>", "action one")
EDITED = Edition("<p id='tpl'>template two</p>", "action two", members_only=True)


def build_service(root: Path, edition: Edition) -> Service:
    """The service as `edition` writes it, in production settings (meta kept 300 s)."""
    (root / "templates").mkdir(parents=True)
    page = BASE + "{% block content %}" + edition.template + "<p id='data'>{{ words }}</p>"
    (root / "templates" / "page.html").write_text(page + "{% endblock %}")
    svc = Service(root=root, settings=Settings(meta_cache=300))

    @svc.action("/", template="page.html")
    @public()
    def home(request: Any) -> dict[str, str]:
        return {"words": edition.words}

    @svc.action("/cached", template="page.html")
    @public()
    @cache(time=60)
    def cached(request: Any) -> dict[str, str]:
        return {"words": edition.words}

    @svc.action("/rules", template="page.html")
    @public()
    def rules(request: Any) -> dict[str, str]:
        return {"words": edition.words}

    if edition.members_only:
        only_logged_user()(rules)
    return svc


class Restartable:
    """The service's process as a reloader runs it: whichever code was loaded last answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def pages(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    return {route: await client.get(f"/plugIt{route}") for route in ("/", "/cached", "/rules")}


def shown(response: httpx.Response) -> tuple[int, str, str]:
    """The status, and the template's and the action's words on the page ("" when absent)."""
    template = re.search(r"<p id='tpl'>([^<]*)</p>", response.text)
    words = re.search(r"<p id='data'>([^<]*)</p>", response.text)
    return (
        response.status_code,
        template.group(1) if template else "",
        words.group(1) if words else "",
    )


@contextlib.asynccontextmanager
async def proxy_in_front(url: str, *, dev: bool) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process standalone proxy in front of `url`, in development mode or not."""
    app = build_application(
        replace(make_config(url, menu_action=None), dev=dev), cache=fresh_cache()
    )
    await app.startup()
    transport = httpx.ASGITransport(app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.shutdown()


@pytest.mark.parametrize("dev", [True, False], ids=["dev", "production"])
async def test_an_edited_service_shows_on_the_next_page(tmp_path: Path, dev: bool) -> None:
    restartable = Restartable(build_service(tmp_path / "one", FIRST))
    with LiveServer(restartable) as server:
        async with proxy_in_front(server.url, dev=dev) as client:
            before = await pages(client)
            assert {route: shown(r) for route, r in before.items()} == {
                "/": (200, "template one", "action one"),
                "/cached": (200, "template one", "action one"),
                "/rules": (200, "template one", "action one"),
            }
            restartable.app = build_service(tmp_path / "two", EDITED)  # the developer saved
            after = {route: shown(r) for route, r in (await pages(client)).items()}
    if dev:
        assert after == {
            "/": (200, "template two", "action two"),
            "/cached": (200, "template two", "action two"),
            "/rules": (403, "", ""),  # the new rule: signed-in users only
        }
    else:  # the meta is kept until Expire (its tag: the old template), the page 60 s
        assert after == {
            "/": (200, "template one", "action two"),
            "/cached": (200, "template one", "action one"),
            "/rules": (200, "template one", "action two"),
        }

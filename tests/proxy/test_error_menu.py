"""An error page keeps the side menu of the page that failed (docs/protocol.md §4 step 6).

The menu is the page template's own block, rendered in the page's context without the
action's data. In production it comes only from what the proxy compiled already: a failing or
dead service costs no call for it. A real service on a real socket, the proxy on its own.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugit import Service
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application
from plugit_proxy.config import UpstreamConfig

from .conftest import as_user, fresh_cache, make_config
from .services import Counting

BASE = '{% extends "plugIt/base.html" %}{% load plugit_tags %}'
MENU = (
    "{% block menubar %}<ul id='menu'><li><a href='{{ ebuio_baseUrl }}polls'>Polls for "
    "{{ ebuio_u.username|default:'guest' }}</a></li><li id='data'>{{ count|default:'no data' }}"
    '</li>{% plugitInclude "part" %}</ul>{% endblock %}'
)
CONTENT = "{% block content %}<p id='content'>content #{{ count }}</p>{% endblock %}"
TEMPLATES = {
    "menu.html": BASE + MENU + CONTENT,
    "nomenu.html": BASE + CONTENT,
    "broken.html": BASE
    + "{% block menubar %}{% include 'plugIt/no-such.html' %}{% endblock %}"
    + CONTENT,
    "part.html": "<li id='part'>shared part</li>",
}

OpenProxy = Callable[..., httpx.AsyncClient]


@dataclass
class Behaviour:
    """What the service's actions do now: answer, raise, or take their time."""

    now: str = "answer"


def build_service(root: Path, behaviour: Behaviour) -> Service:
    (root / "templates").mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))

    def page(route: str, template: str) -> None:
        @svc.action(route, template=template)
        async def action(request: Any) -> dict[str, Any]:
            if behaviour.now == "raise":
                raise RuntimeError("the action failed")
            if behaviour.now == "slow":
                await asyncio.sleep(4)
            return {"count": 7}

    for route, template in [("/", "menu.html"), ("/nomenu", "nomenu.html")]:
        page(route, template)
    page("/broken", "broken.html")
    page("/part", "part.html")
    return svc


@dataclass
class Running:
    server: LiveServer
    counting: Counting
    behaviour: Behaviour


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    behaviour = Behaviour()
    counting = Counting(build_service(tmp_path / "svc", behaviour))
    server = LiveServer(counting).start()
    yield Running(server, counting, behaviour)
    server.stop()  # a second stop (the dead-instance test) is harmless


@pytest.fixture
async def open_proxy() -> AsyncIterator[OpenProxy]:
    """`open_proxy(url, dev=False)`: a new client of the one proxy (a real socket) for them."""
    servers: dict[tuple[str, bool], LiveServer] = {}
    clients: list[httpx.AsyncClient] = []

    def start(url: str, *, dev: bool = False) -> httpx.AsyncClient:
        if (url, dev) not in servers:
            upstream = UpstreamConfig(connect_timeout=1.0, timeout=1.5)
            config = replace(make_config(url, upstream=upstream), dev=dev)
            app = build_application(config, cache=fresh_cache())
            servers[(url, dev)] = LiveServer(app).start()
        client = httpx.AsyncClient(base_url=servers[(url, dev)].url, timeout=15)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
    for server in servers.values():
        server.stop()


def side_menu(html: str) -> str:
    """The menu in the layout's side column, or "" when the page has none."""
    column = r'<nav [^>]*aria-label="Service menu"[^>]*>.*?id="plugit-menu-items"[^>]*>(.*?)</div>'
    match = re.search(column + r"\s*</nav>", html, re.S)
    return match.group(1).strip() if match else ""


def menu_of(user: str) -> str:
    return (
        f"<ul id='menu'><li><a href='/plugIt/polls'>Polls for {user}</a></li>"
        "<li id='data'>no data</li><li id='part'>shared part</li></ul>"
    )


async def test_a_failing_action_keeps_each_viewers_menu(
    running: Running, open_proxy: OpenProxy
) -> None:
    member, visitor = open_proxy(running.server.url), open_proxy(running.server.url)
    await as_user(member, "mem")
    assert (await member.get("/plugIt/")).status_code == 200  # meta and template compiled
    running.behaviour.now = "raise"
    templates = running.counting.count("template")
    failed = await member.get("/plugIt/")
    assert failed.status_code == 500
    assert "The service failed while answering this page." in failed.text
    assert side_menu(failed.text) == menu_of("member")
    assert "Back to the start page" in failed.text
    assert running.counting.count("template") == templates  # no call for the menu
    # The same error page for another viewer: their own menu, not the member's.
    other = await visitor.get("/plugIt/")
    assert other.status_code == 500
    assert side_menu(other.text) == menu_of("guest")


async def test_a_timeout_keeps_the_menu(running: Running, open_proxy: OpenProxy) -> None:
    client = open_proxy(running.server.url)
    assert (await client.get("/plugIt/")).status_code == 200
    running.behaviour.now = "slow"
    late = await client.get("/plugIt/")
    assert late.status_code == 504
    assert "The service took too long to answer." in late.text
    assert side_menu(late.text) == menu_of("guest")


async def test_a_dead_instance_keeps_the_menu_it_had_compiled(
    running: Running, open_proxy: OpenProxy
) -> None:
    client = open_proxy(running.server.url)
    assert (await client.get("/plugIt/")).status_code == 200
    running.server.stop()  # refused from now on
    dead = await client.get("/plugIt/")
    assert dead.status_code == 502
    assert "The service could not be reached." in dead.text
    assert side_menu(dead.text) == menu_of("guest")


async def test_a_page_without_the_menu_block_fails_without_a_menu(
    running: Running, open_proxy: OpenProxy
) -> None:
    client = open_proxy(running.server.url)
    assert (await client.get("/plugIt/nomenu")).status_code == 200
    running.behaviour.now = "raise"
    failed = await client.get("/plugIt/nomenu")
    assert failed.status_code == 500
    assert "The service failed while answering this page." in failed.text
    assert side_menu(failed.text) == ""
    assert "Service menu" not in failed.text


async def test_a_failing_menu_block_leaves_the_error_page_whole(
    running: Running, open_proxy: OpenProxy
) -> None:
    client = open_proxy(running.server.url)
    assert (await client.get("/plugIt/broken")).status_code == 200
    running.behaviour.now = "raise"
    failed = await client.get("/plugIt/broken")
    assert failed.status_code == 500
    assert "The service failed while answering this page." in failed.text
    assert "Back to the start page" in failed.text
    assert side_menu(failed.text) == ""


async def test_development_mode_fetches_the_menu_of_an_answering_service_only(
    running: Running, open_proxy: OpenProxy
) -> None:
    running.behaviour.now = "raise"
    client = open_proxy(running.server.url, dev=True)  # nothing compiled, nothing kept
    failed = await client.get("/plugIt/")
    assert failed.status_code == 500
    assert "The service failed while answering this page." in failed.text
    assert side_menu(failed.text) == menu_of("guest")
    running.server.stop()
    dead = await client.get("/plugIt/")
    assert dead.status_code == 502
    assert side_menu(dead.text) == ""  # refused: no second call, and nothing was kept

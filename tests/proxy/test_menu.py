"""The side menu (section 4 step 6): the page template's own block named by the menu setting.

A real service on a real socket, counted at the service; the proxy on its own real socket.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugit import Service
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit.utils import cache, no_template

from .conftest import ProxyFactory, as_user
from .services import Counting

BASE = '{% extends "plugIt/base.html" %}'
MENU = (
    "{% block menubar %}<ul id='menu'><li>Menu for {{ ebuio_u.username|default:'guest' }} "
    "#{{ count }}</li></ul>{% endblock %}"
)
CONTENT = "{% block content %}<p id='content'>content #{{ count }}</p>{% endblock %}"

TEMPLATES = {
    "menu.html": BASE + "{% block title %}Menu{% endblock %}" + MENU + CONTENT,
    "nomenu.html": BASE + CONTENT,
    # The menu block inside the content: still shown once, in the side column.
    "nested.html": BASE
    + "{% block content %}<p id='content'>before</p>"
    + MENU
    + "<p>after</p>{% endblock %}",
    "sidebar.html": BASE + MENU + "{% block sidebar %}<ol id='side'><li>other</li></ol>"
    "{% endblock %}" + CONTENT,
    "included.html": BASE + "{% load plugit_tags %}{% block menubar %}<div id='menu'>"
    '{% plugitInclude "part" %}</div>{% endblock %}' + CONTENT,
    "part.html": "<span id='part'>part #{{ count }}</span>",
    "broken.html": BASE
    + "{% block menubar %}{% include 'plugIt/no-such.html' %}{% endblock %}"
    + CONTENT,
    "bare.html": MENU + "<p id='bare'>bare</p>",
}


def menu_service(root: Path) -> Service:
    """A service whose templates put a menu in `{% block menubar %}`, as the original's did."""
    (root / "templates").mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))
    counter = itertools.count(1)

    def page(route: str, template: str) -> None:
        @svc.action(route, template=template)
        def action(request: Any) -> dict[str, Any]:
            return {"count": next(counter)}

    for route, template in [
        ("/", "menu.html"),
        ("/nomenu", "nomenu.html"),
        ("/nested", "nested.html"),
        ("/sidebar", "sidebar.html"),
        ("/included", "included.html"),
        ("/broken", "broken.html"),
    ]:
        page(route, template)

    @svc.action("/cached", template="menu.html")
    @cache(time=60, byUser=True)
    def cached(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/bare", template="bare.html")
    @no_template()
    def bare(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/part", template="part.html")
    def part(request: Any) -> dict[str, Any]:
        raise AssertionError("an included action is never called")

    return svc


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Counting]]:
    counting = Counting(menu_service(tmp_path_factory.mktemp("menu")))
    with LiveServer(counting) as server:
        yield server, counting


def side_menu(html: str) -> str:
    """The menu in the layout's side column (behind its phone toggle), or "" when none."""
    column = r'<nav [^>]*aria-label="Service menu"[^>]*>.*?id="plugit-menu-items"[^>]*>(.*?)</div>'
    match = re.search(column + r"\s*</nav>", html, re.S)
    return match.group(1).strip() if match else ""


def main_column(html: str) -> str:
    match = re.search(r"<main [^>]*>(.*?)</main>", html, re.S)
    assert match, "no <main> in page"
    return match.group(1)


async def test_menu_block_is_shown_once_in_the_side_column(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, counting = counted
    client = proxy_factory(server.url, live=True).client
    await as_user(client, "mem")
    await client.get("/plugIt/")  # meta and template now cached
    before = counting.count("action")
    response = await client.get("/plugIt/")
    assert response.status_code == 200
    html = response.text
    count = re.search(r"content #(\d+)", html)
    assert count
    # Rendered with the page's own context: the same action answer, the same user.
    assert side_menu(html) == f"<ul id='menu'><li>Menu for member #{count.group(1)}</li></ul>"
    assert html.count("id='menu'") == 1
    assert "menu" not in main_column(html)
    # One action call for the page and its menu; no menu action, no other call.
    assert counting.count("action") == before + 1
    assert counting.calls.get("menubar", 0) == 0


async def test_template_without_the_block_has_no_menu(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True).client
    html = (await client.get("/plugIt/nomenu")).text
    assert "content #" in html
    assert side_menu(html) == ""
    assert "Service menu" not in html


async def test_nested_menu_block_is_not_repeated_in_the_content(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True).client
    html = (await client.get("/plugIt/nested")).text
    assert "Menu for guest" in side_menu(html)
    assert html.count("Menu for guest") == 1
    assert "before" in main_column(html)
    assert "after" in main_column(html)


async def test_menu_setting_names_another_block(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True, menu_action="sidebar").client
    html = (await client.get("/plugIt/sidebar")).text
    assert side_menu(html) == "<ol id='side'><li>other</li></ol>"
    assert "Menu for" not in html  # `menubar` is no menu now, and not in the layout either
    assert side_menu((await client.get("/plugIt/")).text) == ""


async def test_no_menu_setting_means_no_menu(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True, menu_action=None).client
    html = (await client.get("/plugIt/")).text
    assert side_menu(html) == ""
    assert "Menu for" not in html


async def test_cached_page_keeps_its_menu(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, counting = counted
    client = proxy_factory(server.url, live=True).client
    await as_user(client, "adm")
    first = (await client.get("/plugIt/cached")).text
    calls = counting.count("action")
    second = (await client.get("/plugIt/cached")).text
    assert counting.count("action") == calls  # served from the page cache
    assert side_menu(second) == side_menu(first)
    assert "Menu for admin #" in side_menu(second)
    assert second.count("Menu for admin") == 1


async def test_menu_block_may_include_other_templates(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True).client
    html = (await client.get("/plugIt/included")).text
    count = re.search(r"content #(\d+)", html)
    assert count
    assert f"<span id='part'>part #{count.group(1)}</span>" in side_menu(html)
    assert html.count("id='part'") == 1


async def test_broken_menu_block_does_not_break_the_page(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True).client
    response = await client.get("/plugIt/broken")
    assert response.status_code == 200
    assert "content #" in response.text
    assert side_menu(response.text) == ""


async def test_page_without_layout_has_no_side_menu(
    proxy_factory: ProxyFactory, counted: tuple[LiveServer, Counting]
) -> None:
    server, _ = counted
    client = proxy_factory(server.url, live=True).client
    response = await client.get("/plugIt/bare")
    # no_template: the rendered template is the whole answer, blocks where they stand.
    assert re.fullmatch(
        r"<ul id='menu'><li>Menu for guest #\d+</li></ul><p id='bare'>bare</p>", response.text
    )

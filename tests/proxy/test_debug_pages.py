"""Debug pages: what a developer reads in the proxy's error page in development mode (and a
visitor never does): the action's traceback, the template line that failed, the guard's
refusal. Real services (uvicorn) and real proxies (uvicorn), over real sockets."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugit import Request, Service, Settings
from plugit.settings import parse_networks
from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config

OpenProxy = Callable[..., httpx.AsyncClient]
ServeService = Callable[..., LiveServer]

BASE = '{% extends "plugIt/base.html" %}'
TEMPLATES = {
    "fine.html": BASE + "{% block content %}<p id='fine'>{{ text }}</p>{% endblock %}",
    # Line 4 does not compile: an `if` without a condition.
    "broken.html": BASE + "\n{% block content %}\n<p>before</p>\n{% if %}\n<p>after</p>\n"
    "{% endif %}\n{% endblock %}\n",
    # Line 3 fails while rendering: no URL is named `nowhere`.
    "failing.html": BASE + "\n{% block content %}\n<a href=\"{% url 'nowhere' %}\">x</a>\n"
    "<p>after</p>\n{% endblock %}\n",
}


def build_service(root: Path, **settings: Any) -> Service:
    for name, text in TEMPLATES.items():
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / name).write_text(text, encoding="utf-8")
    service = Service("debug-pages", root=root, settings=Settings(**settings))

    def share(parts: int) -> float:
        return 10 / parts

    @service.action("/", template="fine.html")
    def home(request: Request) -> dict[str, str]:
        return {"text": "fine"}

    @service.action("/crash", template="fine.html")
    def crash(request: Request) -> dict[str, float]:
        return {"text": share(0)}

    @service.action("/broken", template="broken.html")
    def broken(request: Request) -> dict[str, str]:
        return {}

    @service.action("/failing", template="failing.html")
    def failing(request: Request) -> dict[str, str]:
        return {}

    return service


@pytest.fixture
def serve_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeService]:
    """`serve_service(**settings)`: a service built with those settings, on a real socket."""
    servers: list[LiveServer] = []

    def start(**settings: Any) -> LiveServer:
        root = tmp_path_factory.mktemp("debug-pages")
        server = LiveServer(build_service(root, **settings), proxy_headers=False).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def open_proxy() -> AsyncIterator[OpenProxy]:
    """`open_proxy(service_url, dev=False)`: a standalone proxy on a real socket, a client."""
    opened: list[tuple[LiveServer, httpx.AsyncClient]] = []

    def start(url: str, *, dev: bool = False) -> httpx.AsyncClient:
        config = replace(make_config(url), dev=dev)
        server = LiveServer(build_application(config, cache=fresh_cache())).start()
        client = httpx.AsyncClient(base_url=server.url, timeout=20)
        opened.append((server, client))
        return client

    yield start
    for server, client in opened:
        await client.aclose()
        server.stop()


def shown(page: httpx.Response) -> str:
    """The page's text with HTML's escapes undone (the detail is escaped in a <pre>)."""
    return html.unescape(page.text)


async def test_development_mode_shows_the_actions_traceback(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=True)
    page = await open_proxy(service.url, dev=True).get("/plugIt/crash")
    assert page.status_code == 500
    text = shown(page)
    assert "The service failed while answering this page." in text
    assert "plugit-error-detail" in text
    assert "the action failed: ZeroDivisionError: division by zero" in text
    assert "Traceback (most recent call last):" in text
    assert ", in crash\n" in text
    assert ", in share\n" in text
    assert "return 10 / parts" in text


async def test_without_development_mode_the_traceback_stays_hidden(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=True)
    page = await open_proxy(service.url).get("/plugIt/crash")
    assert page.status_code == 500
    assert "The service failed while answering this page." in page.text
    assert "plugit-error-detail" not in page.text
    assert "Traceback" not in page.text
    assert "ZeroDivisionError" not in page.text


async def test_a_service_without_debug_sends_no_traceback_even_to_a_dev_proxy(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=False)
    page = await open_proxy(service.url, dev=True).get("/plugIt/crash")
    assert page.status_code == 500
    assert "The service failed while answering this page." in page.text
    assert "Traceback" not in page.text
    assert "ZeroDivisionError" not in page.text
    assert (await open_proxy(service.url, dev=True).get("/plugIt/")).status_code == 200


async def test_a_template_that_does_not_compile_names_its_file_and_line(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=True)
    page = await open_proxy(service.url, dev=True).get("/plugIt/broken")
    assert page.status_code == 500
    text = shown(page)
    assert "template broken.html (test:/broken) does not compile (line 4)" in text
    assert "broken.html (test:/broken), line 4:\n" in text
    assert "  3 | <p>before</p>\n> 4 | {% if %}\n  5 | <p>after</p>\n" in text
    hidden = await open_proxy(service.url).get("/plugIt/broken")
    assert hidden.status_code == 500
    assert "{% if %}" not in shown(hidden)


async def test_a_template_that_fails_to_render_names_its_line(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=True)
    page = await open_proxy(service.url, dev=True).get("/plugIt/failing")
    assert page.status_code == 500
    text = shown(page)
    assert "template failing.html (test:/failing) failed: NoReverseMatch" in text
    assert "failing.html (test:/failing), line 3:\n" in text
    assert """> 3 | <a href="{% url 'nowhere' %}">x</a>\n  4 | <p>after</p>""" in text


@pytest.mark.parametrize(
    ("debug", "address"),
    [
        (True, "address, 127.0.0.1 (its network guard): add 127.0.0.1/32 to"),
        (False, "the service's log names the address"),
    ],
)
async def test_development_mode_says_the_service_refused_this_proxy(
    serve_service: ServeService, open_proxy: OpenProxy, debug: bool, address: str
) -> None:
    service = serve_service(debug=debug, allowed_networks=parse_networks("10.0.0.0/8"))
    page = await open_proxy(service.url, dev=True).get("/plugIt/")
    assert page.status_code == 502
    text = shown(page)
    assert "Page not found" not in text
    assert "the service refused this proxy's address" in text
    assert address in text
    assert "PI_ALLOWED_NETWORKS" in text
    assert "PLUGIT_ALLOWED_NETWORKS" in text


async def test_visitors_read_only_that_the_service_could_not_be_reached(
    serve_service: ServeService, open_proxy: OpenProxy
) -> None:
    service = serve_service(debug=True, allowed_networks=parse_networks("10.0.0.0/8"))
    page = await open_proxy(service.url).get("/plugIt/")
    assert page.status_code == 502
    assert "The service could not be reached." in page.text
    assert "127.0.0.1" not in page.text
    assert "ALLOWED_NETWORKS" not in page.text

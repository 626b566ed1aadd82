"""`Bundle`: several services in one ASGI app, each a PlugIt service under its own prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from plugit import ConfigurationError, Request, Service, Settings
from plugit.bundle import Bundle
from plugit.simulation import LOGGED
from plugit.testing import LiveServer, ServiceClient
from plugit.utils import json_only, public


def make_service(name: str, root: Path, events: list[str], **settings: Any) -> Service:
    """A service answering `/` with its name, with a template, a medium and a socket."""
    folder = root / name
    (folder / "templates").mkdir(parents=True)
    (folder / "media").mkdir()
    (folder / "templates/home.html").write_text(f"<p>{name}: {{{{ who }}}}</p>")
    (folder / "media/style.css").write_text(f".{name} {{}}")
    service = Service(name, root=folder, settings=Settings(**settings))

    @service.action("/", template="home.html")
    @public()
    def home(request: Request) -> dict[str, Any]:
        return {"who": name}

    @service.action("/data.json")
    @json_only()
    def data(request: Request) -> dict[str, Any]:
        return {"service": name, "url": request.url}

    @service.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"{name}: {await websocket.receive_text()}")
        await websocket.close()

    service.on_startup(lambda: events.append(f"{name} up"))
    service.on_shutdown(lambda: events.append(f"{name} down"))
    return service


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def bundle(tmp_path: Path, events: list[str]) -> Bundle:
    return Bundle(
        {
            "hello": make_service("hello", tmp_path, events),
            "world": make_service("world", tmp_path, events),
        },
        name="greetings",
    )


def test_each_service_answers_every_call_under_its_prefix(bundle: Bundle) -> None:
    with LiveServer(bundle) as server:
        for name in ("hello", "world"):
            base = f"{server.url}/{name}/"
            assert httpx.get(f"{base}ping", params={"data": name}).json() == {"data": name}
            with ServiceClient.at(base) as client:
                page = client.get("/", user=LOGGED)
                assert page.data == {"who": name}
                assert page.template == f"<p>{name}: {{{{ who }}}}</p>"
                data = client.get("/data.json").data
                assert data["service"] == name
                assert data["url"].startswith(f"{base}action/data.json?")
            assert httpx.get(f"{base}media/style.css").text == f".{name} {{}}"


async def test_the_services_sockets_answer_under_their_prefixes(bundle: Bundle) -> None:
    with LiveServer(bundle) as server:
        for name in ("hello", "world"):
            url = server.url.replace("http://", "ws://") + f"/{name}/action/echo"
            async with connect(url) as socket:
                await socket.send("hi")
                assert await socket.recv() == f"{name}: hi"


def test_every_service_starts_and_stops_with_the_bundle(bundle: Bundle, events: list[str]) -> None:
    with LiveServer(bundle):
        assert events == ["hello up", "world up"]
    assert events == ["hello up", "world up", "world down", "hello down"]


def test_the_guard_of_each_service_judges_the_path_below_its_prefix(
    tmp_path: Path, events: list[str]
) -> None:
    """A service that allows no local caller refuses it; its neighbour still answers."""
    bundle = Bundle(
        {
            "open": make_service("open", tmp_path, events),
            "closed": make_service("closed", tmp_path, events, allowed_networks=["10.0.0.0/8"]),
        }
    )
    with LiveServer(bundle) as server:
        assert httpx.get(f"{server.url}/open/ping", params={"data": "x"}).json() == {"data": "x"}
        refused = httpx.get(f"{server.url}/closed/ping", params={"data": "x"})
        assert refused.status_code == 404
        assert httpx.get(f"{server.url}/closed/action/data.json").status_code == 404
        assert httpx.get(f"{server.url}/closed/meta/").status_code == 404
        # ... while its media (open to anyone) answer: the calls do reach that service.
        assert httpx.get(f"{server.url}/closed/media/style.css").text == ".closed {}"


def test_the_root_lists_the_services_and_a_bare_prefix_is_sent_on(bundle: Bundle) -> None:
    with LiveServer(bundle) as server:
        index = httpx.get(f"{server.url}/")
        assert index.status_code == 200
        assert "greetings" in index.text
        assert '<a href="/hello/">/hello/</a>' in index.text
        assert '<a href="/world/">/world/</a>' in index.text
        bare = httpx.get(f"{server.url}/hello")
        assert bare.status_code == 308
        assert bare.headers["location"] == "/hello/"
        assert httpx.get(f"{server.url}/nobody/ping").status_code == 404


def test_a_service_failing_to_start_stops_the_bundle_naming_it(
    tmp_path: Path, events: list[str]
) -> None:
    broken = make_service("broken", tmp_path, events)

    @broken.on_startup
    def fail() -> None:
        raise RuntimeError("no database")

    bundle = Bundle({"fine": make_service("fine", tmp_path, events), "broken": broken})
    server = LiveServer(bundle)
    with pytest.raises(RuntimeError, match="failed to start"):
        server.start()
    server.stop()
    assert events == ["fine up", "broken up", "fine down"]


@pytest.mark.parametrize("prefix", ["", "Hello", "a/b", "-x", "x y"])
def test_a_prefix_that_cannot_be_a_path_segment_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot be a path prefix"):
        Bundle({prefix: Service(prefix or "x", settings=Settings())})


def test_an_empty_bundle_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one service"):
        Bundle({})

"""WebSocket endpoints: `@service.websocket("/echo/<name>")` at `action/echo/<name>`."""

from __future__ import annotations

import json
import warnings

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from plugit import ConfigurationError, Service
from plugit.settings import parse_networks

from .conftest import ServeFn
from .helpers import make_service

with warnings.catch_warnings():
    # Starlette >= 1.x prefers httpx2 for its TestClient; plain httpx still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

LOCAL = ("127.0.0.1", 1234)  # TestClient's default peer, "testclient", is no address


def echo_service(root, **settings) -> Service:
    service = make_service(root, **settings)

    @service.websocket("/echo/<name>")
    async def echo(websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {name}")
        try:
            while True:
                message = await websocket.receive_text()
                await websocket.send_text(f"{name}: {message}")
        except WebSocketDisconnect:
            pass

    @service.websocket("/count/<int:n>")
    async def count(websocket: WebSocket, n: int) -> None:
        await websocket.accept()
        for i in range(n):
            await websocket.send_json({"i": i})
        await websocket.close(code=1000)

    service.action("/")(lambda request: {"http": "still works"})
    return service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return echo_service(tmp_path_factory.mktemp("ws"))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_echo_over_a_real_socket(service: Service, live: ServeFn, host: str) -> None:
    server = live(service, host)
    url = server.url.replace("http://", "ws://") + "/action/echo/ada"
    async with connect(url) as websocket:
        assert await websocket.recv() == "hello ada"
        await websocket.send("ping")
        assert await websocket.recv() == "ada: ping"
        await websocket.send("é ✓")
        assert await websocket.recv() == "ada: é ✓"


async def test_route_variables_are_converted(service: Service, live: ServeFn) -> None:
    url = live(service).url.replace("http://", "ws://") + "/action/count/3"
    async with connect(url) as websocket:
        messages = [await websocket.recv() for _ in range(3)]
        assert [json.loads(m) for m in messages] == [{"i": 0}, {"i": 1}, {"i": 2}]
        with pytest.raises(ConnectionClosed):
            await websocket.recv()


async def test_unknown_websocket_route_is_refused(service: Service, live: ServeFn) -> None:
    url = live(service).url.replace("http://", "ws://") + "/action/nowhere"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_is_guarded(tmp_path, live: ServeFn) -> None:
    service = echo_service(tmp_path, allowed_networks=parse_networks(["10.0.0.0/8"]))
    url = live(service).url.replace("http://", "ws://") + "/action/echo/x"
    with pytest.raises(InvalidStatus):
        async with connect(url):
            pass


def test_echo_through_the_starlette_test_client(tmp_path) -> None:
    with (
        TestClient(echo_service(tmp_path), client=LOCAL) as client,
        client.websocket_connect("/action/echo/bob") as websocket,
    ):
        assert websocket.receive_text() == "hello bob"
        websocket.send_text("hi")
        assert websocket.receive_text() == "bob: hi"
        assert client.get("/action/").json() == {"http": "still works"}


def test_count_through_the_starlette_test_client(tmp_path) -> None:
    with (
        TestClient(echo_service(tmp_path), client=LOCAL) as client,
        client.websocket_connect("/action/count/2") as websocket,
    ):
        assert websocket.receive_json() == {"i": 0}
        assert websocket.receive_json() == {"i": 1}
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_text()
        assert closed.value.code == 1000


def test_unknown_route_closes_with_4404(tmp_path) -> None:
    with TestClient(echo_service(tmp_path), client=LOCAL) as client:
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/action/nowhere") as websocket,
        ):
            websocket.receive_text()
        assert closed.value.code == 4404


def test_websocket_handler_must_be_async(tmp_path) -> None:
    service = make_service(tmp_path)
    with pytest.raises(ConfigurationError, match="must be async"):
        service.websocket("/x")(lambda websocket: None)

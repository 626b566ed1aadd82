"""A WebSocket on the hosted platform (`/p/<slug>/`): a signed-in member reaches the service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import Platform, apply, platform_toml, serving, stores_env
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from plugit import Request, Service, Settings
from plugit.actions import only_member_user, user_info
from plugit.testing import LiveServer


def socket_service(root: Path) -> Service:
    (root / "templates").mkdir(parents=True)
    service = Service("platform-sockets", root=root, settings=Settings())

    @service.websocket("/who")
    @only_member_user()
    @user_info(props=["username"])
    async def who(websocket: WebSocket, request: Request) -> None:
        await websocket.accept()
        args = request.args
        await websocket.send_text(
            json.dumps({"username": args.get("ebuio_u_username"), "orga": args.get("ebuio_orgapk")})
        )
        await websocket.receive()

    return service


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    workdir = tmp_path_factory.mktemp("platform-sockets")
    with LiveServer(socket_service(workdir / "service")) as service:
        env = stores_env("embedded", workdir, None)
        apply(env, workdir, platform_toml(service.url, service.url))
        with serving(env, workdir) as running:
            yield running


def open_socket(platform: Platform, path: str, client: httpx.Client) -> ClientConnection:
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return connect(
        platform.url.replace("http://", "ws://") + path,
        origin=platform.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie} if cookie else {},
        open_timeout=20,
    )


def test_a_signed_in_member_reaches_the_service_as_themselves(platform: Platform) -> None:
    bob = platform.login("bob")
    with open_socket(platform, "/p/beta/who", bob) as websocket:
        seen = json.loads(websocket.recv(timeout=20))
    assert seen["username"] == "bob"
    assert seen["orga"]  # bob's organisation, as his pages get it


def test_an_anonymous_socket_is_closed_with_a_reason(platform: Platform) -> None:
    with open_socket(platform, "/p/beta/who", platform.client()) as websocket:
        with pytest.raises(ConnectionClosed):  # the proxy closes it at once
            websocket.recv(timeout=20)
        received = websocket.protocol.close_rcvd
    assert received is not None
    assert received.code == 4401  # signing in would help: the platform has a sign-in page
    assert "signed in" in received.reason

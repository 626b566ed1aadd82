"""A WebSocket handler knows who is connected, as an action does; its meta carries its rules."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect

from plugit import Request, Service
from plugit.actions import only_member_user, user_info
from plugit.simulation import ANONYMOUS, BBC, LOGGED, MEMBER
from plugit.testing import ServiceClient

from .helpers import make_service


def identity_service(root) -> Service:
    service = make_service(root)

    @service.websocket("/room/<name>")
    @only_member_user()
    @user_info(props=["username", "email"])
    async def room(websocket: WebSocket, name: str, request: Request) -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "room": name,
                "username": request.args.get("ebuio_u_username"),
                "email": request.args.get("ebuio_u_email"),
                "orga": request.args.get("ebuio_orgapk"),
                "same": websocket.state.request is request,
            }
        )

    @service.websocket("/open")
    async def open_socket(websocket: WebSocket) -> None:  # the old signature still works
        await websocket.accept()
        await websocket.send_text(websocket.state.request.args.get("q", ""))

    return service


def test_the_handler_gets_the_simulated_users_identity(tmp_path) -> None:
    with (
        ServiceClient(identity_service(tmp_path)) as client,
        client.websocket("/room/blue", user=MEMBER, orga=BBC) as websocket,
    ):
        seen = websocket.receive_json()
    assert seen == {
        "room": "blue",
        "username": "member",
        "email": "member@example.org",
        "orga": str(BBC.pk),
        "same": True,
    }


@pytest.mark.parametrize("user", [ANONYMOUS, LOGGED])
def test_the_rule_refuses_like_the_proxy(tmp_path, user) -> None:
    with (
        ServiceClient(identity_service(tmp_path)) as client,
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket("/room/x", user=user),
    ):
        pass
    assert refused.value.code == 4403
    assert "only_member_user" in refused.value.reason


def test_a_route_without_rules_and_the_old_signature(tmp_path) -> None:
    with ServiceClient(identity_service(tmp_path)) as client:
        with client.websocket("/open?q=hello&ebuio_u_username=forged") as websocket:
            assert websocket.receive_text() == "hello"
        with pytest.raises(WebSocketDisconnect) as missing, client.websocket("/nowhere"):
            pass
    assert missing.value.code == 4404


def test_the_meta_of_a_socket_route_has_its_rules(tmp_path) -> None:
    with ServiceClient(identity_service(tmp_path)) as client:
        meta = client._http.get("/meta/room/x").json()
    assert meta == {
        "template_tag": "",
        "only_member_user": True,
        "user_info": ["username", "email"],
    }

"""A service with WebSocket handlers, and a browser's socket through a live proxy."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from plugit import Request, Service, Settings
from plugit.actions import only_member_user, user_info
from plugit.requestid import current_request_id

from .services import write_files

FLOOD_CHUNK = 64 * 1024
FLOOD_CAP = 256 * 1024 * 1024  # the flood stops by itself there: far past any sane buffer


class Record:
    """What the service saw: bytes the flood managed to send (its sends block once nobody
    reads), and the close codes its echo sockets got."""

    def __init__(self) -> None:
        self.sent = 0
        self.closes: list[int | None] = []


def identity_of(request: Request) -> dict[str, Any]:
    """What the service knows of who is connected."""
    args = request.args
    return {
        "username": args.get("ebuio_u_username"),
        "email": args.get("ebuio_u_email"),
        "member": args.get("ebuio_u_ebuio_member"),
        "orga": args.get("ebuio_orgapk"),
        "remote": request.headers.get("x-plugit-remote-addr"),
        "query": args.get("q"),
    }


def socket_service(root: str, record: Record) -> Service:
    write_files(root, {})
    service = Service("sockets", root=root, settings=Settings())

    @service.websocket("/echo")
    @user_info(props=["username", "email"])
    async def echo(websocket: WebSocket, request: Request) -> None:
        await websocket.accept()
        await websocket.send_text(json.dumps(identity_of(request)))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    record.closes.append(message.get("code"))
                    return
                if message.get("text") is not None:
                    await websocket.send_text("echo:" + message["text"])
                else:
                    await websocket.send_bytes(b"echo:" + message["bytes"])
        except WebSocketDisconnect as gone:
            record.closes.append(gone.code)

    @service.websocket("/members")
    @only_member_user()
    @user_info(props=["username", "ebuio_member"])
    async def members(websocket: WebSocket) -> None:  # the request via websocket.state
        await websocket.accept()
        await websocket.send_text(json.dumps(identity_of(websocket.state.request)))
        await websocket.receive()

    @service.websocket("/whoami")
    async def whoami(websocket: WebSocket, request: Request) -> None:  # its request id
        await websocket.accept()
        ids = {"request": request.request_id, "current": current_request_id()}
        await websocket.send_text(json.dumps(ids))
        await websocket.receive()

    @service.websocket("/close/<int:code>")
    async def close_with(websocket: WebSocket, code: int) -> None:
        await websocket.accept()
        await websocket.close(code=code, reason=f"closing with {code}")

    @service.websocket("/big/<int:size>")
    async def big(websocket: WebSocket, size: int) -> None:
        await websocket.accept()
        await websocket.send_bytes(b"x" * size)
        await websocket.receive()

    @service.websocket("/flood")
    async def flooding(websocket: WebSocket) -> None:
        await websocket.accept()
        chunk = b"f" * FLOOD_CHUNK
        while record.sent < FLOOD_CAP:
            await websocket.send_bytes(chunk)
            record.sent += len(chunk)

    return service


def ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://", 1) + path


async def session_cookie(client: httpx.AsyncClient, mode: str = "ano") -> str:
    """Sign `client` in as a simulated user; give its cookies as a `Cookie` header."""
    if mode != "ano":
        switched = await client.get(f"/plugIt/ebuio_setUser?mode={mode}")
        assert switched.status_code == 302
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


@asynccontextmanager
async def browser_socket(
    proxy_url: str,
    path: str,
    *,
    cookie: str = "",
    origin: str | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[ClientConnection]:
    """A browser's socket to the proxy: its Origin (the proxy's own by default), its cookies."""
    headers = {**(headers or {}), **({"Cookie": cookie} if cookie else {})}
    async with connect(
        ws_url(proxy_url, path),
        origin=origin or proxy_url,  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=20,
        **options,
    ) as websocket:
        yield websocket


async def closed_with(websocket: ClientConnection) -> tuple[int | None, str | None]:
    """Wait for the proxy to close the socket; give the code and reason it sent."""
    async with asyncio.timeout(20):
        await websocket.wait_closed()
    received = websocket.protocol.close_rcvd
    return (received.code, received.reason) if received else (None, None)


async def eventually(condition: Callable[[], bool], within: float = 20.0) -> bool:
    """Poll `condition` (something another thread's loop changes) until true or `within` s."""
    for _ in range(int(within / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def stuck_browser(
    proxy_url: str, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A browser's socket that completes its handshake, then reads nothing more (a stuck tab).

    A raw connection: client libraries keep reading their socket into their own buffers.
    """
    host, port = proxy_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {proxy_url}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    async with asyncio.timeout(20):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer

"""WebSocket handlers: who may open them (their meta) and who is connected (their request).

A handler takes the same access decorators as an action; the proxy reads them from
`meta<route>` before it opens the socket, and adds to the upgrade request what it adds to an
action's GET: the `ebuio_u_*` fields the meta asks for, `ebuio_orgapk`, the `X-Plugit-*`
headers. The handler gets that as the `plugit.Request` an action would get, with the id of
the browser's upgrade request (`request.request_id`, also `current_request_id()` and the
`RequestIdFilter`'s `request_id` while the handler runs).
"""

from __future__ import annotations

import dataclasses
import email.utils
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.websockets import WebSocket

from plugit.actions import spec_of
from plugit.guard import caller_address
from plugit.protocol import HEADER_META_EXPIRE
from plugit.request import MultiDict, Request, parse_query
from plugit.responses import json_response
from plugit.routing import Route

__all__ = ["SocketHandler", "SocketSpec", "socket_meta", "socket_request", "wants_request"]

SocketHandler = Callable[..., Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class SocketSpec:
    """One `@service.websocket` handler: its route, and whether it takes `request`."""

    route: Route
    handler: SocketHandler
    wants_request: bool


def wants_request(handler: SocketHandler) -> bool:
    """True when the handler has a parameter named `request` (or takes `**kwargs`)."""
    parameters = inspect.signature(handler).parameters.values()
    return any(
        parameter.name == "request" or parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters
    )


def socket_meta(handler: SocketHandler, max_age: int) -> Response:
    """The handler's meta object: its access rules and user fields, no template."""
    headers = {
        HEADER_META_EXPIRE: email.utils.formatdate(time.time() + max_age, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
    }
    return json_response(spec_of(handler).meta_object(""), headers=headers)


def socket_request(websocket: WebSocket, *, use_proxy_ip: bool) -> Request:
    """The upgrade request as an action's `Request`: its query (user fields), headers, cookies."""
    scope: dict[str, Any] = {**websocket.scope, "type": "http", "method": "GET"}
    raw = StarletteRequest(scope)
    client = websocket.client
    return Request(
        raw,
        args=parse_query(websocket.scope.get("query_string", b"")),
        form=MultiDict(),
        files=MultiDict(),
        body=b"",
        remote_addr=caller_address(
            client.host if client else None, raw.headers, use_proxy_ip=use_proxy_ip
        ),
    )

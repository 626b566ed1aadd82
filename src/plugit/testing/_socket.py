"""Open a service's WebSocket the way a proxy does, as a simulated user (in-process).

The meta's access rules decide first, as the proxy's do: a refusal is the close a browser
would get (`WebSocketDisconnect` with 4403 and the rule, 4404 without meta). Then the socket
is opened at `action<route>` with the action call's parameters and headers (`_flow`).
"""

from __future__ import annotations

import contextlib
import urllib.parse
import warnings
from collections.abc import Iterator

import httpx
from starlette.types import ASGIApp
from starlette.websockets import WebSocketDisconnect

from plugit import pagerules
from plugit.protocol import PATH_META
from plugit.testing._flow import PageRequest, action_call, check_user_info, read_meta, visitor

with warnings.catch_warnings():
    # Starlette >= 1.x prefers httpx2 for its TestClient; plain httpx still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient, WebSocketTestSession

__all__ = ["WebSocketTestSession", "open_socket"]

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@contextlib.contextmanager
def open_socket(
    app: ASGIApp, http: httpx.Client, prefix: str, request: PageRequest
) -> Iterator[WebSocketTestSession]:
    """Apply the route's meta to `request`'s user, then open the socket as the proxy would."""
    meta = read_meta(http.get(PATH_META + request.route))
    if isinstance(meta, int):
        raise WebSocketDisconnect(CLOSE_NOT_FOUND, "No socket answers this address.")
    check_user_info(meta, request.route, request.user_fields)
    seen = visitor(request)
    denied = pagerules.refused_rule(meta, seen, orga_mode=request.orga_mode)
    if denied is not None:
        raise WebSocketDisconnect(CLOSE_FORBIDDEN, f"Access denied (rule: {denied})")
    outgoing = action_call(meta, request, seen)
    url = prefix + outgoing.path
    if outgoing.params:
        url += "?" + urllib.parse.urlencode(outgoing.params)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        client = TestClient(app, client=(request.remote_addr, 50000))
    with client, client.websocket_connect(url, headers=outgoing.headers) as websocket:
        yield websocket

"""A blocking httpx transport that calls an ASGI app in-process.

httpx's own `ASGITransport` is async only, and Starlette's `TestClient` is deprecated with
httpx. This transport runs the async one on an event loop in a helper thread (an anyio
portal), so a blocking client works even inside a running event loop.
"""

from __future__ import annotations

import contextlib

import anyio.from_thread
import httpx
from starlette.types import ASGIApp

# In-process calls come from the loopback, which a service's network guard lets in by default.
LOOPBACK_CLIENT = ("127.0.0.1", 50000)


def asgi_transport(app: ASGIApp) -> httpx.ASGITransport:
    """An async transport to `app`, calling from the loopback; app errors become 500s."""
    return httpx.ASGITransport(app, raise_app_exceptions=False, client=LOOPBACK_CLIENT)


class BlockingASGITransport(httpx.BaseTransport):
    """Serve a blocking httpx client from an ASGI app.

    Each request runs on a fresh event loop, unless `start()` opened one that lasts until
    `close()` (the `ServiceClient` does so inside `with`): apps whose state is bound to one
    loop then see the same loop for every request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._transport = asgi_transport(app)
        self._stack: contextlib.ExitStack | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def start(self) -> None:
        """Keep one event loop for the requests until `close()`."""
        if self._portal is None:
            self._stack = contextlib.ExitStack()
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Call the app and return its complete answer."""
        # The body is read here: a blocking request's stream need not be iterable async.
        buffered = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        if self._portal is not None:
            return self._portal.call(self._handle, buffered)
        with anyio.from_thread.start_blocking_portal() as portal:
            return portal.call(self._handle, buffered)

    def close(self) -> None:
        """Stop the event loop `start()` opened."""
        if self._stack is not None:
            self._stack.close()
        self._stack = self._portal = None

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

"""Request bodies: capped in size and in patience, before any part of the proxy reads them.

Django reads a whole request body (to a temporary file past a few megabytes) before it even
routes the request, so the API, the admin and the accounts pages would take any upload to
the end before refusing it. This wrapper sits in front of everything:

* a declared `Content-Length` over the cap is a 413 at once, without reading a byte;
* a streamed (chunked) body is counted as it comes: the chunk that passes the cap is a 413,
  and the rest is never read (the connection is closed);
* a client that stops sending in the middle of its body gets a 408 after `timeout` seconds.

The application behind then sees the client gone (`http.disconnect`), and whatever it still
tries to send is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plugit.exceptions import ConfigurationError

__all__ = ["BodyLimit"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0


class BodyLimit:
    """Wrap an ASGI app: refuse bodies over `limit` bytes (413) and stalled bodies (408)."""

    def __init__(self, app: ASGIApp, *, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    @classmethod
    def from_settings(cls, app: ASGIApp) -> BodyLimit:
        """Read PLUGIT_MAX_BODY and PLUGIT_BODY_TIMEOUT."""
        from django.conf import settings

        limit = _positive("PLUGIT_MAX_BODY", settings.PLUGIT_MAX_BODY)
        timeout = _positive("PLUGIT_BODY_TIMEOUT", settings.PLUGIT_BODY_TIMEOUT)
        return cls(app, limit=int(limit), timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(send, 413, f"The request body is larger than {self.limit} bytes.")
            return
        guard = _Guard(receive, send, self.limit, self.timeout)
        await self.app(scope, guard.receive, guard.send)


class _Guard:
    """The receive and send of one request, counting and timing its body."""

    def __init__(self, receive: Receive, send: Send, limit: int, timeout: float) -> None:
        self._receive = receive
        self._send = send
        self._limit = limit
        self._timeout = timeout
        self._size = 0
        self._complete = False  # the whole body arrived
        self._started = False  # the response began
        self._refused = False

    async def receive(self) -> Message:
        if self._refused:
            return {"type": "http.disconnect"}
        if self._complete:  # waiting for a disconnect is no body read: no deadline
            return await self._receive()
        try:
            async with asyncio.timeout(self._timeout):
                message = await self._receive()
        except TimeoutError:
            await self._refuse(408, f"The request body did not arrive within {self._timeout:g} s.")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                await self._refuse(413, f"The request body is larger than {self._limit} bytes.")
                return {"type": "http.disconnect"}
            self._complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self._refused:
            return  # the client has its answer already
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)

    async def _refuse(self, status: int, text: str) -> None:
        self._refused = True
        if not self._started:
            self._started = True
            await _refuse(self._send, status, text)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


def _positive(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, not {value!r}.") from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value!r}.")
    return number

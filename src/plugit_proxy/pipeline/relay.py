"""Relay frames between a browser's socket (ASGI) and its service's socket (aiohttp).

Each direction forwards one message at a time and awaits its delivery before reading the
next: a browser that does not read stalls uvicorn's send (its transport is paused), so the
service's messages stay in aiohttp's bounded reader, which then stops reading the service's
socket, and TCP pushes back on the service. Nothing grows without bound in the proxy.

Whichever side closes first closes the other with its code and reason; an over-long message,
a silent socket (`idle_timeout`) or a lost connection closes both with a code of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiohttp
from starlette.types import Receive, Send

__all__ = ["CLOSE_GOING_AWAY", "CLOSE_TOO_BIG", "Closing", "SocketLimits", "relay"]

logger = logging.getLogger("plugit_proxy.pipeline")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011
# Codes that say a close frame had none (1005) or never came (1006, 1015): never sent on.
UNSENDABLE = {1005: CLOSE_NORMAL, 1006: CLOSE_GOING_AWAY, 1015: CLOSE_GOING_AWAY}
CLOSE_WAIT = 5.0
LOST = "The service's connection was lost."  # seconds a closing handshake may take on either side


@dataclass(frozen=True, kw_only=True)
class SocketLimits:
    """The limits of every relayed socket (UpstreamConfig's `ws_*`)."""

    max_message: int
    idle_timeout: float  # 0: none


@dataclass(frozen=True)
class Closing:
    """How a relay ends: the close each side is sent (None: that side is already gone)."""

    browser: tuple[int, str] | None
    service: tuple[int, str] | None


def sendable(code: int | None) -> int:
    """A code that may travel in a close frame, for one that was received."""
    if code is None:
        return CLOSE_NORMAL
    return UNSENDABLE.get(code, code)


class _Clock:
    """When a frame last went through, in either direction."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def tick(self) -> None:
        self.last = time.monotonic()


async def relay(
    receive: Receive, send: Send, service: aiohttp.ClientWebSocketResponse, limits: SocketLimits
) -> Closing:
    """Relay until either side closes; then close the other; return how it ended."""
    clock = _Clock()
    tasks = [
        asyncio.create_task(_browser_to_service(receive, service, limits, clock)),
        asyncio.create_task(_service_to_browser(service, send, limits, clock)),
    ]
    if limits.idle_timeout > 0:
        tasks.append(asyncio.create_task(_idle(clock, limits.idle_timeout)))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    closing = _outcome(next(iter(done)))
    await _close_both(closing, send, service)
    return closing


def _outcome(task: asyncio.Task[Closing]) -> Closing:
    error = task.exception()
    if error is None:
        return task.result()
    logger.error("a WebSocket relay failed", exc_info=error)
    return Closing(
        browser=(CLOSE_ERROR, "The proxy failed."), service=(CLOSE_ERROR, "The proxy failed.")
    )


async def _close_both(
    closing: Closing, send: Send, service: aiohttp.ClientWebSocketResponse
) -> None:
    """Send each side its close, bounded in time (a browser that reads nothing never acks)."""
    if closing.service is not None and not service.closed:
        code, reason = closing.service
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_WAIT):
                await service.close(code=code, message=reason.encode())
    if closing.browser is not None:
        code, reason = closing.browser
        with contextlib.suppress(Exception):  # gone meanwhile: nothing to tell it
            async with asyncio.timeout(CLOSE_WAIT):
                await send({"type": "websocket.close", "code": code, "reason": reason})
    if not service.closed:  # the browser's close went out: the service's connection goes too
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_WAIT):
                await service.close(code=CLOSE_GOING_AWAY)


async def _browser_to_service(
    receive: Receive, service: aiohttp.ClientWebSocketResponse, limits: SocketLimits, clock: _Clock
) -> Closing:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.disconnect":
            code = sendable(message.get("code"))
            return Closing(browser=None, service=(code, message.get("reason") or ""))
        if kind != "websocket.receive":
            continue
        text: str | None = message.get("text")
        data: bytes | None = message.get("bytes")
        size = len(data) if text is None and data is not None else _text_size(text or "")
        if size > limits.max_message:
            reason = f"Messages are limited to {limits.max_message} bytes."
            return Closing(browser=(CLOSE_TOO_BIG, reason), service=(CLOSE_GOING_AWAY, reason))
        try:
            if text is not None:
                await service.send_str(text)
            else:
                await service.send_bytes(data or b"")
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            return Closing(browser=(CLOSE_ERROR, LOST), service=None)
        clock.tick()


def _text_size(text: str) -> int:
    """The UTF-8 size of a text message (encoded only when it might be over a limit)."""
    return len(text) if text.isascii() else len(text.encode())


async def _service_to_browser(
    service: aiohttp.ClientWebSocketResponse, send: Send, limits: SocketLimits, clock: _Clock
) -> Closing:
    while True:
        message = await service.receive()
        match message.type:
            case aiohttp.WSMsgType.TEXT:
                outgoing = {"type": "websocket.send", "text": message.data}
            case aiohttp.WSMsgType.BINARY:
                outgoing = {"type": "websocket.send", "bytes": message.data}
            case aiohttp.WSMsgType.CLOSE:
                code = sendable(message.data)
                return Closing(browser=(code, message.extra or ""), service=None)
            case aiohttp.WSMsgType.ERROR if _too_big(message.data):
                reason = f"The service sent a message over {limits.max_message} bytes."
                return Closing(browser=(CLOSE_TOO_BIG, reason), service=(CLOSE_TOO_BIG, reason))
            case aiohttp.WSMsgType.ERROR | aiohttp.WSMsgType.CLOSED | aiohttp.WSMsgType.CLOSING:
                return Closing(browser=(CLOSE_ERROR, LOST), service=None)
            case _:  # ping and pong: aiohttp answers them
                continue
        try:
            await send(outgoing)  # waits while the browser's transport is paused
        except Exception:  # the browser is gone (uvicorn's ClientDisconnected, OSError)
            return Closing(browser=None, service=(CLOSE_GOING_AWAY, "The browser went away."))
        clock.tick()


def _too_big(error: object) -> bool:
    return isinstance(error, aiohttp.WebSocketError) and error.code == CLOSE_TOO_BIG


async def _idle(clock: _Clock, limit: float) -> Closing:
    while True:
        remaining = clock.last + limit - time.monotonic()
        if remaining <= 0:
            reason = f"The socket was idle for {limit:g} s."
            return Closing(browser=(CLOSE_GOING_AWAY, reason), service=(CLOSE_GOING_AWAY, reason))
        await asyncio.sleep(remaining)

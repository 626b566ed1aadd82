"""`Bundle`: several services in one ASGI application, each under its own path prefix.

`Bundle({"hello": hello, "world": world})` serves `hello` at `/hello/` and `world` at
`/world/`: a proxy is given `http://HOST:PORT/hello/` as that service's base URL. Each request
reaches its service with the prefix added to the ASGI `root_path`, so the service's router and
its network guard judge the path below the prefix, exactly as when it is served alone. The
services' start-up and shutdown hooks all run (a server sends lifespan events to the bundle
only), and the bundle refuses to start behind a server that rewrites the caller's address, as
a lone `Service` does.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Mapping

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plugit.exceptions import ConfigurationError
from plugit.guard import HOW_TO_SERVE, client_rewriter

__all__ = ["Bundle"]

PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,49}")


class Bundle:
    """An ASGI app serving each of `services` (name -> ASGI app) under `/<name>/`."""

    def __init__(self, services: Mapping[str, ASGIApp], *, name: str = "") -> None:
        if not services:
            raise ConfigurationError("a bundle needs at least one service")
        for prefix in services:
            if not PREFIX_PATTERN.fullmatch(prefix):
                raise ConfigurationError(
                    f"{prefix!r} cannot be a path prefix: use lower-case letters, digits, "
                    f"'_' and '-', starting with a letter"
                )
        self.services = dict(services)
        self.name = name

    def prefixes(self) -> list[str]:
        """Each service's path prefix, e.g. `/hello/`, in the order given."""
        return [f"/{prefix}/" for prefix in self.services]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        below = path[len(root) :] if path.startswith(root) else path
        prefix, slash, _ = below.lstrip("/").partition("/")
        app = self.services.get(prefix)
        if app is not None and slash:
            await app({**scope, "root_path": f"{root}/{prefix}"}, receive, send)
        elif scope["type"] == "http":
            response = self._redirect_or_index(scope, app is not None, below)
            await response(scope, receive, send)
        else:  # a WebSocket outside every service
            await send({"type": "websocket.close", "code": 4404})

    def _redirect_or_index(self, scope: Scope, is_service: bool, below: str) -> Response:
        """`/hello` is sent on to `/hello/`; `/` lists the services; anything else is a 404."""
        root = scope.get("root_path", "")
        if is_service:
            return RedirectResponse(f"{root}{below}/", status_code=308)
        if below in {"", "/"}:
            return HTMLResponse(self._index_page(root))
        return Response("Not Found", 404, media_type="text/plain")

    def _index_page(self, root: str) -> str:
        """A short page naming each service's base URL (for a person, not for a proxy)."""
        items = "".join(
            f'<li><a href="{html.escape(root + prefix)}">{html.escape(root + prefix)}</a></li>'
            for prefix in self.prefixes()
        )
        title = html.escape(self.name or "PlugIt services")
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"</head><body><h1>{title}</h1><p>Each of these PlugIt services answers a proxy "
            f"at its own base URL:</p><ul>{items}</ul></body></html>"
        )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start every service's lifespan, then stop them (last started stops first)."""
        message = await receive()
        assert message["type"] == "lifespan.startup"
        # The check a lone Service makes: it would not see the server's frames from a task.
        if any(not _trusts_forwarding(app) for app in self.services.values()):
            rewriter = client_rewriter(sys._getframe())
            if rewriter is not None:
                reason = f"cannot start: {HOW_TO_SERVE.format(middleware=rewriter)}"
                await send({"type": "lifespan.startup.failed", "message": reason})
                return
        started: list[_ChildLifespan] = []
        for prefix, app in self.services.items():
            child = _ChildLifespan(app, scope)
            failure = await child.start()
            if failure is not None:
                for running in reversed(started):
                    await running.stop()
                reason = f"/{prefix}/: {failure}"
                await send({"type": "lifespan.startup.failed", "message": reason})
                return
            started.append(child)
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        for running in reversed(started):
            await running.stop()
        await send({"type": "lifespan.shutdown.complete"})


def _trusts_forwarding(app: ASGIApp) -> bool:
    """True when `app` is a service that reads X-Forwarded-For itself (PI_USE_PROXY_IP)."""
    settings = getattr(app, "settings", None)
    return bool(getattr(settings, "use_proxy_ip", False))


class _ChildLifespan:
    """One service's lifespan, run as a task fed by the bundle's own lifespan."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = {**scope, "state": {}}  # each service keeps its own lifespan state
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.replied = False
        self.supported = True

    async def start(self) -> str | None:
        """Start the service; return why it failed, or None."""
        self.task = asyncio.create_task(self._run())
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.outbox.get()
        self.replied = True
        if reply["type"] == "lifespan.startup.failed":
            return str(reply.get("message", "")) or "its start-up failed"
        return None  # started, or an app without lifespan support (as uvicorn's "auto")

    async def stop(self) -> None:
        """Stop the service and wait for its lifespan to end."""
        if self.supported:
            await self.inbox.put({"type": "lifespan.shutdown"})
            await self.outbox.get()
        if self.task is not None:
            await self.task

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self.inbox.get, self.outbox.put)
        except Exception as error:
            if not self.replied:  # an app that refuses the lifespan scope
                self.supported = False
            await self.outbox.put({"type": "lifespan.raised", "message": str(error)})

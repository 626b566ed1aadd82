"""The WebSocket entry: admit a browser's socket like a page, then relay it to the service.

`ws(s)://<host><mount><route>` is checked in this order: the `Origin` (another site's page
is refused before the handshake, an HTTP 403), then within `ws_connect_timeout` the session,
visibility, version and meta access rules (socketgate.py) and the service's own handshake at
`action<route>`. Any refusal after the Origin is a socket that opens and closes at once with
a code and a reason a page's script can show (4401, 4403, 4404, 1011, 1014). Then frames are
relayed both ways (relay.py) until either side closes.

Sockets have their own aiohttp session without a connection limit: a socket holds its
connection for its whole life and must not queue behind, or starve, the page calls' pool.

The upgrade request gets a request id as any request does (requestcontext.py: a trusted
`X-Request-ID`, or a new one): it is sent to the service with its handshake, answered in the
browser's handshake as `X-Request-ID`, and carried by the proxy's log lines of the socket
(refused, opened, closed) and of the calls made to admit it.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from plugit.protocol import HEADER_REQUEST_ID

from .. import metrics
from ..conf import current_configuration
from ..config import Project
from ..https import scheme_of
from ..requestcontext import CURRENT, RequestRecord, record_for, with_request_id
from .handler import PageHandler
from .relay import Closing, SocketLimits, relay
from .socketgate import SocketTarget, admit, origin_refusal, refusal_of

__all__ = ["SocketHandler", "http_view"]

logger = logging.getLogger("plugit_proxy.pipeline")

HTTP_SCHEMES = {"ws": "http", "wss": "https"}


def http_view(scope: Scope) -> Scope:
    """The upgrade request as the page pipeline reads requests (a GET over http/https)."""
    scheme = HTTP_SCHEMES.get(scope.get("scheme", "ws"), "http")
    return {**scope, "type": "http", "method": "GET", "scheme": scheme}


class SocketHandler:
    """Serve the WebSocket scopes of every project (an ASGI app for `websocket` scopes)."""

    def __init__(self, pages: PageHandler) -> None:
        self.pages = pages
        self.runtime = pages.runtime
        config = self.runtime.config.upstream
        self.limits = SocketLimits(
            max_message=config.ws_max_message, idle_timeout=config.ws_idle_timeout
        )
        self.connect_timeout = config.ws_connect_timeout
        self.trust_ids = current_configuration().server.trust_request_id
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        """Close the sockets' client session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # in the running loop, on the first socket
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),  # a socket lives as long as it likes
            )
        return self._session

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, project: Project, route: str
    ) -> None:
        record = record_for(scope, trusted=self.trust_ids)
        record.project, record.route = project.key, route
        token = CURRENT.set(record)
        try:
            await self._serve(scope, receive, send, project, record)
        finally:
            CURRENT.reset(token)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, project: Project, record: RequestRecord
    ) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        route = record.route
        echoed = (HEADER_REQUEST_ID.lower().encode(), record.id.encode("ascii"))
        request = Request(http_view(scope))
        secure = scheme_of(request, self.pages.tls_proxy) == "https"
        refused = origin_refusal(
            self.runtime.csrf, request.headers.get("origin"), request.url.netloc, secure
        )
        if refused is not None:  # before the handshake: another site's page learns nothing
            logger.warning("WebSocket refused on %s: %s", scope["path"], refused)
            await send({"type": "websocket.close", "code": 1008})
            return
        try:
            async with asyncio.timeout(self.connect_timeout):
                page = await self.pages.open_page(request, project, route)
                target = await admit(page)
                service = await self._connect(target, scope.get("subprotocols") or [])
        except Exception as error:
            refusal = refusal_of(error, self.connect_timeout)
            logger.info("WebSocket on %s closed at once: %s", scope["path"], refusal)
            await send({"type": "websocket.accept", "headers": [echoed]})
            await send({"type": "websocket.close", "code": refusal.code, "reason": refusal.reason})
            return
        record.service = target.instance
        metrics.socket_opened(project.key)
        logger.info("WebSocket on %s opened to %s", scope["path"], target.instance)
        ending = "the proxy stopped"
        try:
            accept = {"type": "websocket.accept", "subprotocol": service.protocol}
            await send({**accept, "headers": [echoed]})
            closing = await relay(receive, send, service, self.limits)
            ending = _ending(closing)
        finally:
            metrics.socket_closed(project.key)
            logger.info("WebSocket on %s closed: %s", scope["path"], ending)
            if not service.closed:
                await service.close()

    async def _connect(
        self, target: SocketTarget, subprotocols: list[str]
    ) -> aiohttp.ClientWebSocketResponse:
        """Open the service's socket (the caller's deadline bounds the handshake)."""
        return await self.session.ws_connect(
            target.url,
            params=target.params,
            headers=with_request_id(target.headers),
            protocols=subprotocols,
            max_msg_size=self.limits.max_message + 1,  # aiohttp refuses its limit itself
            compress=0,  # a deflate context per socket costs far more memory than it saves
            autoclose=True,
            autoping=True,
        )


def _ending(closing: Closing) -> str:
    """Say who closed a relayed socket, with the code the other side was sent."""
    if closing.browser is None and closing.service is not None:
        return f"the browser closed it ({closing.service[0]})"
    if closing.service is None and closing.browser is not None:
        return f"the service closed it ({closing.browser[0]})"
    code, reason = closing.browser or closing.service or (1000, "")
    return f"the proxy closed it ({code} {reason})"

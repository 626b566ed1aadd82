"""Who may open a WebSocket to a project, and what its service is told of them.

A socket is admitted the way a page is (pipeline/handler.py): the session's identity, the
project's visibility and version, the route's meta access rules. The service's socket is then
opened at `action<route>` with what an action call (GET) carries: the browser's query without
`ebuio_*`, the `ebuio_u_*` fields the meta asks for (allowed ones only), `ebuio_orgapk`, and
the `X-Plugit-*` headers; in proxy mode the user and organisation headers instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from plugit.pagerules import Pairs, browser_params
from plugit.protocol import PATH_ACTION

from ..csrf import CsrfConfig, UnsafeRequest
from ..upstream import UpstreamError
from .access import LoginRequired, check_access
from .action import orga_params, protocol_headers, proxy_mode_headers, user_params
from .handler import check_visibility
from .meta import get_meta
from .state import Page, PageError
from .urls import checked_route, service_url
from .version import route_version

__all__ = [
    "CLOSE_FORBIDDEN",
    "CLOSE_NOT_FOUND",
    "CLOSE_SIGN_IN",
    "CLOSE_UNAVAILABLE",
    "SocketRefused",
    "SocketTarget",
    "admit",
    "origin_refusal",
    "refusal_of",
]

# Close codes the proxy gives a browser whose socket it will not relay (4xxx: the
# application range, after the HTTP status they stand for; 1014: "bad gateway").
CLOSE_SIGN_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_UNAVAILABLE = 1014
CLOSE_ERROR = 1011
MAX_REASON = 123  # bytes of UTF-8 a close frame's reason may hold


@dataclass(frozen=True, kw_only=True)
class SocketTarget:
    """Where the service's socket is opened, and what the upgrade request carries."""

    url: str  # ws(s)://instance/<base>action<route>
    params: Pairs
    headers: dict[str, str]
    instance: str = ""  # the instance's base URL (for the log and the metrics)


@dataclass(frozen=True)
class SocketRefused:
    """The browser's socket is closed with `code` and `reason` instead of being relayed."""

    code: int
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", short_reason(self.reason))

    def __str__(self) -> str:
        return f"{self.code} {self.reason}"


def short_reason(reason: str) -> str:
    """Cut a close reason to what a close frame holds, on a character boundary."""
    encoded = reason.encode()
    if len(encoded) <= MAX_REASON:
        return reason
    return encoded[: MAX_REASON - 3].decode(errors="ignore") + "..."


def origin_refusal(csrf: CsrfConfig, origin: str | None, host: str, secure: bool) -> str | None:
    """Say why a socket's `Origin` is refused (not this site, nor a trusted one), else None.

    Browsers always send `Origin` with a WebSocket and it cannot be forged by a page: it is
    what CSRF protection is for sockets, which carry no token.
    """
    if not origin:
        return "a WebSocket must send its Origin"
    own = UnsafeRequest(origin=origin, referer=None, host=host, port="", secure=secure)
    if origin == own.own_origin or csrf.trusted.trust_origin(origin):
        return None
    return f"the socket comes from another site ({origin})"


async def admit(page: Page) -> SocketTarget:
    """Apply the page's rules to a socket; give the service's socket to open, or raise."""
    checked_route(page.route)
    check_visibility(page)
    await route_version(page)
    if page.project.proxy_mode:  # no meta: the user travels in headers, as its pages do
        added = orga_params(page)
        headers = {**await protocol_headers(page), **proxy_mode_headers(page)}
    else:
        meta = await get_meta(page.runtime, page.project, page.route)
        check_access(meta, page.identity, page.remote_addr, page.project.orga_mode)
        added = user_params(page, meta)
        headers = await protocol_headers(page)
    base = page.runtime.upstream.pick(page.project)
    url = service_url(base, PATH_ACTION, page.route)
    query = browser_params(page.request.query_params.multi_items())
    return SocketTarget(url="ws" + url[4:], params=query + added, headers=headers, instance=base)


def refusal_of(error: BaseException, connect_timeout: float) -> SocketRefused:
    """The close code and reason a browser gets for what stopped its socket from opening."""
    match error:
        case LoginRequired():
            return SocketRefused(CLOSE_SIGN_IN, error.message)
        case PageError(status=403):
            return SocketRefused(CLOSE_FORBIDDEN, error.message)
        case PageError(status=404):
            return SocketRefused(CLOSE_NOT_FOUND, "No socket answers this address.")
        case PageError():
            return SocketRefused(CLOSE_ERROR, f"{error.title}: {error.message}")
        case TimeoutError():
            return SocketRefused(
                CLOSE_UNAVAILABLE, f"The service did not answer within {connect_timeout:g} s."
            )
        case aiohttp.WSServerHandshakeError(status=status) if 400 <= status < 500:
            return SocketRefused(4000 + status, f"The service refused the socket ({status}).")
        case UpstreamError() | aiohttp.ClientError() | OSError():
            return SocketRefused(CLOSE_UNAVAILABLE, "The service is unavailable.")
    return SocketRefused(CLOSE_ERROR, "The proxy could not open this socket.")

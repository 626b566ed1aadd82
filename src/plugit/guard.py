"""The network guard: only proxies inside PI_ALLOWED_NETWORKS may call a service.

It judges what the service's router dispatches on (the path without the server's root path)
and the socket peer, which it can only trust when no server middleware has replaced it with an
address read from `X-Forwarded-For`: such a middleware is found on the call stack.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from types import FrameType

from starlette._utils import get_route_path
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from plugit.protocol import HEADER_GUARD_REFUSED
from plugit.settings import Network

__all__ = [
    "HOW_TO_SERVE",
    "RefusalLog",
    "address_allowed",
    "caller_address",
    "carries_forwarding",
    "client_rewriter",
    "refusal_response",
    "route_path",
]

log = logging.getLogger("plugit.guard")


def caller_address(peer: str | None, headers: Headers, *, use_proxy_ip: bool) -> str:
    """The address to check: the socket peer, or the last X-Forwarded-For hop when trusted."""
    if use_proxy_ip:
        forwarded = headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer or ""


def address_allowed(address: str, networks: Iterable[Network]) -> bool:
    """True when `address` (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of `networks`."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = (ip, ip.ipv4_mapped)
    else:
        candidates = (ip,)
    return any(candidate in network for candidate in candidates for network in networks)


# Server middlewares that replace scope["client"] with an address read from a request header
# (module, class): behind them the socket peer is gone before the guard can judge it.
CLIENT_REWRITERS = frozenset(
    {
        ("uvicorn.middleware.proxy_headers", "ProxyHeadersMiddleware"),
        ("hypercorn.middleware.proxy_fix", "ProxyFixMiddleware"),
    }
)
FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded")

HOW_TO_SERVE = (
    "the server replaces the caller's address with X-Forwarded-For ({middleware}), so the "
    "network guard cannot see who is calling. Serve the service with `plugit serve` or "
    "`Service.run()`, or start uvicorn (and gunicorn's uvicorn worker) with proxy headers "
    "off (`uvicorn --no-proxy-headers`, `proxy_headers=False`); behind your own reverse "
    "proxy, set PI_USE_PROXY_IP (PLUGIT_USE_PROXY_IP) so that the guard reads the header itself."
)


def route_path(scope: Scope) -> str:
    """The path the service's router dispatches on: `path` without the server's `root_path`."""
    return get_route_path(scope)


def carries_forwarding(scope: Scope) -> bool:
    """True when the request names a forwarded-for address a server might have acted on."""
    return any(name in FORWARDING_HEADERS for name, _ in scope.get("headers", ()))


def client_rewriter(frame: FrameType | None) -> str | None:
    """The server middleware in the call stack from `frame` that rewrites the client, if any."""
    while frame is not None:
        holder = frame.f_locals.get("self")
        kind = type(holder)
        if (kind.__module__, kind.__qualname__) in CLIENT_REWRITERS:
            return f"{kind.__module__}.{kind.__qualname__}"
        frame = frame.f_back
    return None


# What the refusal header says when the service does not run with DEBUG.
ADDRESS_HIDDEN = "hidden"


def refusal_response(address: str, *, debug: bool) -> Response:
    """The guard's answer: the protocol's plain 404, with the optional refusal header.

    The header tells a proxy that the guard refused it (not that the page is missing); only
    a service in DEBUG names the address it saw, and only when that is an IP address.
    """
    shown = address if debug and _is_ip(address) else ADDRESS_HIDDEN
    return Response("Not Found", 404, {HEADER_GUARD_REFUSED: shown}, media_type="text/plain")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RefusalLog:
    """Log one line per refused address, naming the setting to change.

    One line per address, not per request (a refused proxy retries on every page), and at
    most `limit` addresses per process: behind PI_USE_PROXY_IP a caller writes the address.
    """

    def __init__(self, networks: Iterable[Network], *, limit: int = 1024) -> None:
        self.networks = ", ".join(str(network) for network in networks)
        self.limit = limit
        self.seen: set[str] = set()

    def note(self, address: str, path: str) -> None:
        """Log the refusal of `address` (calling `path`) unless it was logged already.

        An empty address (the server rewrote it: the service logs that error) is not logged.
        """
        if not address or address in self.seen or len(self.seen) > self.limit:
            return
        self.seen.add(address)
        if len(self.seen) > self.limit:
            log.warning("more than %d addresses refused: no more are logged", self.limit)
            return
        log.warning("%s", self.explain(address, path))

    def explain(self, address: str, path: str) -> str:
        """Say who was refused, why, and what to change if it is a proxy of yours."""
        if not _is_ip(address):
            return f"refused a call to {path}: the caller's address {address!r} is not an IP"
        width = 128 if ":" in address else 32
        return (
            f"refused a call to {path} from {address}: not in PI_ALLOWED_NETWORKS "
            f"({self.networks}). If a PlugIt proxy calls from there, add it to "
            f"PI_ALLOWED_NETWORKS in config.py or to PLUGIT_ALLOWED_NETWORKS (comma "
            f"separated), e.g. PLUGIT_ALLOWED_NETWORKS={self.networks.replace(', ', ',')},"
            f"{address}/{width}. (Logged once per address.)"
        )

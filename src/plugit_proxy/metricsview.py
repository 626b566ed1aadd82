"""`/metrics`: the Prometheus exposition, for the operator's monitoring only.

Served on the platform's own origin (never on a project's), to a caller that sends
`Authorization: Bearer <PLUGIT_METRICS_TOKEN>` or whose address (the socket peer) lies in
PLUGIT_METRICS_NETWORKS (default: loopback only); anyone else gets a 403. Never cached.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterable

from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from . import metrics

__all__ = ["METRICS_PATH", "MetricsView"]

METRICS_PATH = "/metrics"


class MetricsView:
    """Answer `/metrics` to the callers the configuration allows."""

    def __init__(self, *, token: str, networks: Iterable[str]) -> None:
        self.token = token.encode()
        self.networks = tuple(ipaddress.ip_network(network) for network in networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if self.allowed(scope):
            body = await asyncio.to_thread(metrics.render)  # files and a query: off the loop
            response = Response(
                body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"}
            )
        else:
            response = PlainTextResponse(
                "Forbidden: /metrics needs the metrics token or an allowed address.",
                status_code=403,
            )
        await response(scope, receive, send)

    def allowed(self, scope: Scope) -> bool:
        """Tell whether the caller sent the token or calls from an allowed network."""
        if self.token:
            for name, value in scope.get("headers") or ():
                if name == b"authorization":
                    scheme, _, given = bytes(value).partition(b" ")
                    if scheme.lower() == b"bearer" and hmac.compare_digest(given, self.token):
                        return True
        client = scope.get("client")
        if not client or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

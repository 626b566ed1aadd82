"""Test a service the way a proxy calls it, without running a proxy.

`ServiceClient` (and its async twin) fetches an action's meta, applies its access rules to a
simulated user, calls the action with what a proxy adds, and returns the `Page` a browser
would get. `LiveServer` serves any ASGI app on a real socket; `BlockingASGITransport` lets a
blocking httpx client (or `plugit.api.PlugItAPI`) call an ASGI app in-process.
"""

from plugit.testing._client import AsyncServiceClient, CallOptions, ClientOptions, ServiceClient
from plugit.testing._flow import Page
from plugit.testing._server import LiveServer
from plugit.testing._transport import BlockingASGITransport

__all__ = [
    "AsyncServiceClient",
    "BlockingASGITransport",
    "CallOptions",
    "ClientOptions",
    "LiveServer",
    "Page",
    "ServiceClient",
]

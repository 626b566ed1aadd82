"""X-Forwarded-For behind trusted proxies: only what they wrote counts, and only one address."""

from __future__ import annotations

import httpx

from plugit.testing import LiveServer
from plugit_proxy.forwarded import forwarded_client

from .conftest import ProxyFactory

# The client wrote 10.9.9.9 itself; the one trusted proxy in front appended what it saw.
SPOOFED = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}


async def test_the_client_written_first_hop_is_never_believed(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, live=True, honor_x_forwarded_for=True)
    client: httpx.AsyncClient = handle.client
    assert (await client.get("/plugIt/net", headers=SPOOFED)).status_code == 403
    echoed = (await client.get("/plugIt/echo", headers=SPOOFED)).json()
    assert echoed["remote"] == "203.0.113.7"
    inside = {"X-Forwarded-For": "203.0.113.7, 10.1.2.3"}  # the proxy saw a 10/8 address
    assert (await client.get("/plugIt/net", headers=inside)).status_code == 200
    garbage = {"X-Forwarded-For": "10.9.9.9, unknown"}  # no usable address: the socket peer
    assert (await client.get("/plugIt/echo", headers=garbage)).json()["remote"] == "127.0.0.1"


async def test_two_trusted_proxies_reach_one_hop_further(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(
        demo_service.url, live=True, honor_x_forwarded_for=True, trusted_proxies=2
    )
    headers = {"X-Forwarded-For": "1.2.3.4, 10.9.9.9, 172.16.0.1"}
    echoed = (await handle.client.get("/plugIt/echo", headers=headers)).json()
    assert echoed["remote"] == "10.9.9.9"
    assert (await handle.client.get("/plugIt/net", headers=headers)).status_code == 200


def test_forwarded_client_reads_from_the_right() -> None:
    assert forwarded_client("a, 10.0.0.1 , 10.0.0.2", 1) == "10.0.0.2"
    assert forwarded_client("10.0.0.1, 10.0.0.2", 5) == "10.0.0.1"
    assert forwarded_client("[::1]", 1) == "::1"
    assert forwarded_client(" , ", 1) is None
    assert forwarded_client("10.0.0.1:8080", 1) is None

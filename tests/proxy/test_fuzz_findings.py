"""What the route fuzz (tests/test_fuzz_routes.py) found, each pinned by a focused test."""

from __future__ import annotations

from plugit.testing import LiveServer

from .conftest import ProxyFactory


async def test_head_of_an_xml_only_page_is_not_a_bad_gateway(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    """The service answers HEAD without a body, as HTTP says: that breaks no protocol rule."""
    client = proxy_factory(demo_service.url, live=True).client
    head = await client.head("/plugIt/xml")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("application/xml")
    get = await client.get("/plugIt/xml")
    assert get.status_code == 200
    assert get.text.startswith("<")

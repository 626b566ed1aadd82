"""Access rules (docs/protocol.md §4 step 2): a refusal is a 403 page naming the rule."""

from __future__ import annotations

import httpx
import pytest

from plugit.testing import LiveServer

from .conftest import ProxyFactory, as_user

RULES = [
    # (route, rule, modes refused, modes allowed)
    ("/logged", "only_logged_user", ["ano"], ["log", "mem", "adm"]),
    ("/member", "only_member_user", ["ano", "log"], ["mem", "adm"]),
    ("/admin", "only_admin_user", ["ano", "log", "mem"], ["adm"]),
    ("/orgamember", "only_orga_member_user", ["ano", "log"], ["mem", "adm"]),
    ("/orgaadmin", "only_orga_admin_user", ["ano", "log", "mem"], ["adm"]),
]


@pytest.mark.parametrize(("route", "rule", "refused", "allowed"), RULES)
async def test_rule(
    proxy: httpx.AsyncClient, route: str, rule: str, refused: list[str], allowed: list[str]
) -> None:
    for mode in refused:
        await as_user(proxy, mode)
        response = await proxy.get("/plugIt" + route)
        assert response.status_code == 403, mode
        assert f"rule: {rule}" in response.text
        assert "plugit-header" in response.text  # inside the layout
    for mode in allowed:
        await as_user(proxy, mode)
        response = await proxy.get("/plugIt" + route)
        assert response.status_code == 200, mode
        assert "page" in response.text


async def test_address_in_networks(proxy_factory: ProxyFactory, demo_service: LiveServer) -> None:
    outside = proxy_factory(demo_service.url, peer="127.0.0.1")
    await outside.app.startup()
    refused = await outside.client.get("/plugIt/net")
    assert refused.status_code == 403
    assert "rule: address_in_networks" in refused.text
    for peer in ("10.1.2.3", "fd00::7", "::ffff:10.1.2.3"):  # IPv4-mapped IPv6 too
        inside = proxy_factory(demo_service.url, peer=peer)
        await inside.app.startup()
        assert (await inside.client.get("/plugIt/net")).status_code == 200


async def test_x_forwarded_for_only_when_honoured(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    headers = {"X-Forwarded-For": "10.9.9.9, 127.0.0.1"}
    default = proxy_factory(demo_service.url)
    await default.app.startup()
    assert (await default.client.get("/plugIt/net", headers=headers)).status_code == 403
    echoed = (await default.client.get("/plugIt/echo", headers=headers)).json()
    assert echoed["remote"] == "127.0.0.1"
    honouring = proxy_factory(demo_service.url, honor_x_forwarded_for=True, trusted_proxies=2)
    await honouring.app.startup()
    assert (await honouring.client.get("/plugIt/net", headers=headers)).status_code == 200
    echoed = (await honouring.client.get("/plugIt/echo", headers=headers)).json()
    assert echoed["remote"] == "10.9.9.9"  # the address only, never the whole header


async def test_no_organisation_is_refused_unless_public(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "log")
    assert (await proxy.get("/plugIt/ebuio_setOrga?pk=")).status_code == 302
    refused = await proxy.get("/plugIt/")
    assert refused.status_code == 403
    assert "rule: organisation" in refused.text
    assert (await proxy.get("/plugIt/public")).status_code == 200

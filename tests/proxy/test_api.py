"""The proxy's API for services (section 6), standalone: simulated users and organisations."""

from __future__ import annotations

import re

import httpx

from plugit.testing import LiveServer
from plugit_proxy.platform.keys import hash_api_key, new_api_key

from .conftest import ProxyFactory

STANDALONE_UUID = "00000000-0000-4000-8000-000000000002"


async def test_user_by_pk_and_uuid(proxy: httpx.AsyncClient) -> None:
    user = (await proxy.get("/plugIt/ebuio_api/user/-2")).json()
    assert user["username"] == "member"
    assert user["id"] == "-2"
    assert user["ebuio_member"] is True
    assert user["orgas"] == [{"id": -1, "name": "EBU", "codops": "zzebu", "is_admin": False}]
    assert "uuid" not in user  # not in the allow-list
    by_uuid = (await proxy.get(f"/plugIt/ebuio_api/user/{STANDALONE_UUID}")).json()
    assert by_uuid["username"] == "member"
    assert (await proxy.get("/plugIt/ebuio_api/user/42")).status_code == 404


async def test_orgas(proxy: httpx.AsyncClient) -> None:
    assert (await proxy.get("/plugIt/ebuio_api/orga/-3")).json() == {
        "pk": -3,
        "name": "BBC",
        "codops": "gbbbc",
    }
    assert (await proxy.get("/plugIt/ebuio_api/orga/7")).status_code == 404
    orgas = (await proxy.get("/plugIt/ebuio_api/orgas/")).json()["data"]
    assert [o["codops"] for o in orgas] == ["zzebu", "chrts", "gbbbc", "uscnn"]


async def test_members_and_subscriptions(proxy: httpx.AsyncClient) -> None:
    members = (await proxy.get("/plugIt/ebuio_api/members/")).json()["members"]
    assert [m["username"] for m in members] == ["member", "admin"]
    assert (await proxy.get("/plugIt/ebuio_api/subscriptions/-1")).json() == []


async def test_api_refuses_wrong_methods(proxy: httpx.AsyncClient) -> None:
    assert (await proxy.get("/plugIt/ebuio_api/mail/")).status_code == 405


CALLS_SHOWN = [
    ("GET", "user/&lt;pk&gt;"),
    ("GET", "user/&lt;uuid&gt;"),
    ("GET", "subscriptions/&lt;pk&gt;"),
    ("GET", "orga/&lt;pk&gt;"),
    ("GET", "orgas/"),
    ("GET", "members/"),
    ("POST", "mail/"),
    ("POST", "instances/"),
]


def shown_calls(html: str) -> list[tuple[str, str]]:
    """The (method, path) rows of the API page's table."""
    rows = re.findall(r"<tr><td>(\w+)</td><td><code>([^<]*)</code></td><td>[^<]+</td></tr>", html)
    return [(method, path) for method, path in rows]


async def test_api_root_lists_the_calls(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, live=True)
    page = await handle.client.get("/plugIt/ebuio_api/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    root = "/plugIt/ebuio_api/"
    assert shown_calls(page.text) == [(method, root + path) for method, path in CALLS_SHOWN]
    assert "API key" not in page.text  # the standalone proxy's API needs none
    assert (await handle.client.post("/plugIt/ebuio_api/")).status_code == 405


async def test_api_root_of_a_keyed_project_needs_the_key(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    key = new_api_key()
    handle = proxy_factory(demo_service.url, live=True, api_key_hash=hash_api_key(key))
    client = handle.client
    refused = await client.get("/plugIt/ebuio_api/")
    assert refused.status_code == 403
    assert refused.json() == {"error": "invalid or missing API key"}
    for page in (
        await client.get(f"/plugIt/ebuio_api/{key}/"),
        await client.get("/plugIt/ebuio_api/", headers={"Authorization": f"Bearer {key}"}),
    ):
        assert page.status_code == 200
        assert len(shown_calls(page.text)) == len(CALLS_SHOWN)
        assert key not in page.text
        assert "needs the project's API key" in page.text

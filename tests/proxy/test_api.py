"""The proxy's API for services (section 6), standalone: simulated users and organisations."""

from __future__ import annotations

import httpx

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

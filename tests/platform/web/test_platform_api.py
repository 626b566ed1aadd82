"""Each project's API (docs/protocol.md §6), opened by that project's key only."""

from __future__ import annotations

import httpx
import pytest
from plugit_platform_launch import API_KEYS, Platform

from plugit.api import PlugItAPI


def api(platform: Platform, slug: str) -> str:
    return f"{platform.url}/p/{slug}/ebuio_api/{API_KEYS[slug]}/"


def test_the_unchanged_client_works_with_the_key_in_the_url(platform: Platform) -> None:
    with PlugItAPI(api(platform, "alpha")) as client:
        check_alpha(client)


def check_alpha(client: PlugItAPI) -> None:
    members = client.get_project_members()
    assert sorted(member.username for member in members) == ["alice", "bob"]
    alice = next(member for member in members if member.username == "alice")
    assert alice.email == "alice@example.org"
    assert client.get_user(alice.pk).username == "alice"
    assert client.get_user(12345) is None
    assert client.get_subscription_labels(alice.pk) == ["gold", "pro"]
    assert sorted(orga.name for orga in client.get_orgas()) == ["BBC", "EBU", "RTS"]


def test_the_key_as_a_bearer_token(platform: Platform) -> None:
    root = f"{platform.url}/p/beta/ebuio_api/"
    headers = {"Authorization": f"Bearer {API_KEYS['beta']}"}
    answer = httpx.get(root + "members/", headers=headers)
    assert answer.status_code == 200
    assert sorted(m["username"] for m in answer.json()["members"]) == ["alice", "bob", "dave"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("orgas/", {}),  # no key
        ("wrong-key-" + "x" * 30 + "/orgas/", {}),
        ("orgas/", {"Authorization": "Bearer wrong"}),
        (API_KEYS["alpha"] + "/orgas/", {}),  # alpha's key on beta
        ("orgas/", {"Authorization": f"Bearer {API_KEYS['alpha']}"}),
        (API_KEYS["alpha"] + "/members/", {}),
    ],
)
def test_a_wrong_or_missing_key_is_refused(
    platform: Platform, path: str, headers: dict[str, str]
) -> None:
    answer = httpx.get(f"{platform.url}/p/beta/ebuio_api/{path}", headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "invalid or missing API key"}


def test_a_project_without_a_key_has_no_api(platform: Platform) -> None:
    assert httpx.get(f"{platform.url}/p/gamma/ebuio_api/orgas/").status_code == 403


def test_api_data_is_kept_per_project(platform: Platform) -> None:
    with PlugItAPI(api(platform, "alpha")) as alpha, PlugItAPI(api(platform, "beta")) as beta:
        check_apart(platform, alpha, beta)


def check_apart(platform: Platform, alpha: PlugItAPI, beta: PlugItAPI) -> None:
    alice_pk = next(m.pk for m in alpha.get_project_members() if m.username == "alice")
    in_beta = httpx.get(api(platform, "beta") + f"user/{alice_pk}").json()
    assert "email" not in in_beta  # not granted to beta
    assert "ebuio_admin" not in in_beta
    assert in_beta["username"] == "alice"
    assert [o["name"] for o in in_beta["orgas"]] == ["RTS"]  # beta accepts RTS and BBC
    assert beta.get_subscription_labels(alice_pk) == []  # alice's labels are alpha's
    assert sorted(orga.name for orga in beta.get_orgas()) == ["BBC", "RTS"]
    ebu = next(orga for orga in alpha.get_orgas() if orga.name == "EBU")
    assert beta.get_orga(ebu.pk) is None  # not an organisation beta accepts
    assert alpha.get_orga(ebu.pk).name == "EBU"
    members = httpx.get(api(platform, "beta") + "members/").json()["members"]
    assert all("email" not in member for member in members)


def test_unknown_users_are_not_found(platform: Platform) -> None:
    root = api(platform, "alpha")
    assert httpx.get(root + "user/00000000-0000-4000-8000-000000000000").status_code == 404
    assert httpx.get(root + "user/987654").status_code == 404

"""A project's API key reads only the users related to the project, through its granted fields.

Related: the project's members, and the users who opened one of its pages. Organisations
(`orgas`) only for a project in organisation mode or granted the `orgas` field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import Platform, apply, platform_env, serving

KEYS = {
    "north": "north-key-" + "n" * 30,
    "south": "south-key-" + "s" * 30,
    "west": "west-key-" + "w" * 30,
}
TOML = """
[[organisations]]
codops = "zzebu"
name = "EBU"

[[organisations]]
codops = "chrts"
name = "RTS"

[[users]]
username = "alice"
email = "alice@example.org"
password_env = "PW_ALICE"
organisations = {{ zzebu = "member" }}

[[users]]
username = "bob"
email = "bob@example.org"
password_env = "PW_BOB"
organisations = {{ chrts = "admin" }}

[[users]]
username = "carol"
email = "carol@example.org"
password_env = "PW_CAROL"
organisations = {{ zzebu = "admin" }}

[[users]]
username = "dave"
email = "dave@example.org"
password_env = "PW_DAVE"

[[projects]]
slug = "north"
name = "North"
services = ["{service}"]
user_fields = ["username", "id", "pk"]
api_key_env = "KEY_NORTH"
members = {{ alice = "member" }}

[[projects]]
slug = "south"
name = "South"
services = ["{service}"]
user_fields = ["username", "id", "pk", "email", "orgas"]
api_key_env = "KEY_SOUTH"
members = {{ bob = "member" }}

[[projects]]
slug = "west"
name = "West"
services = ["{service}"]
orga_mode = true
user_fields = ["username", "id", "pk"]
api_key_env = "KEY_WEST"
members = {{ alice = "member" }}
"""


@pytest.fixture(scope="module")
def hosted(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """A platform of its own: the visits a test records must not leak into others'."""
    workdir: Path = tmp_path_factory.mktemp("api-exposure")
    env = platform_env(workdir / "data", **{f"KEY_{slug.upper()}": k for slug, k in KEYS.items()})
    apply(env, workdir, TOML.format(service=service_urls["shared"]))
    with serving(env, workdir) as running:
        yield running


def api(platform: Platform, slug: str, path: str) -> httpx.Response:
    return httpx.get(f"{platform.url}/p/{slug}/ebuio_api/{KEYS[slug]}/{path}")


def pks(platform: Platform) -> dict[str, int]:
    """Everyone's pk, from the projects' member lists."""
    found: dict[str, int] = {}
    for slug in ("north", "south"):
        for member in api(platform, slug, "members/").json()["members"]:
            found[member["username"]] = member["pk"]
    return found


def test_a_key_cannot_read_another_projects_member(hosted: Platform) -> None:
    bob = pks(hosted)["bob"]  # bob belongs to south only
    answer = api(hosted, "north", f"user/{bob}")
    assert (answer.status_code, answer.json()) == (404, {"error": "user not found"})
    assert api(hosted, "south", f"user/{bob}").json()["username"] == "bob"


def test_unrelated_accounts_are_not_found(hosted: Platform) -> None:
    # carol and dave are no project's members and opened no page: no key reads them.
    for pk in range(1, 20):
        readable = {slug for slug in KEYS if api(hosted, slug, f"user/{pk}").status_code == 200}
        username = next(
            (api(hosted, s, f"user/{pk}").json()["username"] for s in sorted(readable)), None
        )
        assert username in {None, "alice", "bob"}, pk
        if username == "alice":
            assert readable == {"north", "west"}
        if username == "bob":
            assert readable == {"south"}


def test_only_the_granted_fields_and_no_orgas_unless_granted(hosted: Platform) -> None:
    people = pks(hosted)
    alice = api(hosted, "north", f"user/{people['alice']}").json()
    assert alice == {
        "username": "alice",
        "id": str(people["alice"]),
        "pk": people["alice"],
        "orgas": [],  # north is not in organisation mode and was not granted orgas
    }
    members = api(hosted, "north", "members/").json()["members"]
    assert members == [alice]
    bob = api(hosted, "south", f"user/{people['bob']}").json()  # granted email and orgas
    assert bob["email"] == "bob@example.org"
    assert [(o["name"], o["is_admin"]) for o in bob["orgas"]] == [("RTS", True)]
    in_west = api(hosted, "west", f"user/{people['alice']}").json()  # organisation mode
    assert [o["name"] for o in in_west["orgas"]] == ["EBU"]
    assert "email" not in in_west


def test_a_user_who_opened_a_page_becomes_readable(hosted: Platform) -> None:
    carol = hosted.login("carol")
    whoami = carol.get("/p/south/whoami_min")
    assert whoami.status_code == 200, whoami.text
    pk = int(whoami.json()["ebuio_u_pk"][0])
    before_north = api(hosted, "north", f"user/{pk}")
    assert before_north.status_code == 404
    answer = api(hosted, "south", f"user/{pk}")
    assert answer.status_code == 200
    assert answer.json()["username"] == "carol"
    assert api(hosted, "south", f"user/{pk}").json()["orgas"][0]["name"] == "EBU"
    assert api(hosted, "north", f"user/{pk}").status_code == 404  # south's user, not north's
    assert carol.get("/p/south/whoami_min").status_code == 200  # a second visit changes nothing
    assert [m["username"] for m in api(hosted, "south", "members/").json()["members"]] == ["bob"]

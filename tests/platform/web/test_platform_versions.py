"""Routing by identity on the hosted platform: versions and routes from `platform.toml`.

A real platform (`plugit platform apply`, then `plugit platform serve`) in front of two real
services, `prod` and `dev`, that say which they are; real accounts signed in through the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from plugit_platform_launch import Platform, apply, platform_env, serving

from plugit.testing import LiveServer
from versioned_services_kit import build_version_service

VERSION = re.compile(r"<p id='version'>(\w+)</p>")
BADGE = re.compile(r'class="badge text-bg-warning plugit-version"[^>]*>([^<]+)<')
SWITCH_FORM = re.compile(r'<form class="dropdown-menu[^"]*plugit-version-switch".*?</form>', re.S)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def versions_toml(prod: str, dev: str) -> str:
    return f'''
[[organisations]]
codops = "chrts"
name = "RTS"

[[users]]
username = "alice"
email = "alice@example.org"
password_env = "PW_ALICE"

[[users]]
username = "bob"
email = "bob@example.org"
password_env = "PW_BOB"
organisations = {{ chrts = "member" }}

[[users]]
username = "carol"
email = "carol@example.org"
password_env = "PW_CAROL"

[[users]]
username = "dave"
email = "dave@example.org"
password_env = "PW_DAVE"

[[projects]]
slug = "vers"
name = "Versions"
services = ["{prod}"]
versions = {{ dev = ["{dev}"] }}
routes = ["dev=users:alice", "dev=orgas:chrts", "dev=opt-in"]
members = {{ alice = "admin", dave = "member" }}
'''


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("platform-versions")
    with (
        LiveServer(build_version_service(root / "prod", "prod")) as prod,
        LiveServer(build_version_service(root / "dev", "dev")) as dev,
    ):
        env = platform_env(root / "data")
        apply(env, root, versions_toml(prod.url, dev.url))
        with serving(env, root) as running:
            yield running


def page_of(client: httpx.Client) -> tuple[str, str]:
    page = client.get("/p/vers/")
    assert page.status_code == 200, page.text
    found = VERSION.search(page.text)
    assert found is not None, page.text
    return found.group(1), page.text


def test_listed_user_and_organisation_on_dev_others_on_production(platform: Platform) -> None:
    assert page_of(platform.login("alice"))[0] == "dev"  # users:alice
    assert page_of(platform.login("bob"))[0] == "dev"  # a member of RTS (chrts)
    assert page_of(platform.login("carol"))[0] == "prod"
    assert page_of(platform.client())[0] == "prod"  # anonymous


def test_badge_for_the_project_administrator_only(platform: Platform) -> None:
    _, alice_page = page_of(platform.login("alice"))  # administrator, on dev
    badge = BADGE.search(alice_page)
    assert badge is not None
    assert badge.group(1) == "dev"
    _, bob_page = page_of(platform.login("bob"))  # on dev too, not an administrator
    assert "plugit-version" not in bob_page


def test_opt_in_for_members_only(platform: Platform) -> None:
    carol = platform.login("carol")  # not a member: not offered
    assert "plugit-version-switch" not in page_of(carol)[1]
    dave = platform.login("dave")
    side, page = page_of(dave)
    assert side == "prod"
    form = SWITCH_FORM.search(page)
    assert form is not None, page
    token = TOKEN.search(form.group(0))
    assert token is not None
    data = {"csrfmiddlewaretoken": token.group(1), "version": "dev", "next": "/p/vers/"}
    answer = dave.post("/p/vers/ebuio_setVersion", data=data)
    assert answer.status_code == 303, answer.text
    assert page_of(dave)[0] == "dev"
    data["version"] = ""
    assert dave.post("/p/vers/ebuio_setVersion", data=data).status_code == 303
    assert page_of(dave)[0] == "prod"

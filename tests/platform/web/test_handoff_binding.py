"""The sign-in hand-off is bound to the browser that asked for it (no login CSRF).

Over real sockets, on a platform with an origin per project: a hand-off link carrying
someone else's token signs nobody in; the project origin's `/ebuio_login` sets the state
cookie the landing checks (host-only, `__Host-` and Secure on HTTPS, where a sibling origin
cannot plant one); a platform hand-off link without a state goes through that page first.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from plugit_origins_kit import DOMAIN, browser, origin, origins_platform
from plugit_platform_launch import Platform, sign_in

STATE = "plugit-handoff"
HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with origins_platform(tmp_path_factory.mktemp("handoff")) as running:
        yield running


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The same platform behind a TLS proxy (it believes X-Forwarded-Proto)."""
    workdir = tmp_path_factory.mktemp("handoff-tls")
    with origins_platform(workdir, PLUGIT_BEHIND_TLS_PROXY="true") as running:
        yield running


def landing_for(client: httpx.Client, platform: Platform, slug: str) -> str:
    """Walk `client` through `slug`'s sign-in; give the hand-off landing URL it was sent to."""
    to_platform = client.get(origin(platform, slug) + "/ebuio_login", params={"next": "/logged"})
    to_landing = client.get(to_platform.headers["location"])
    assert to_landing.status_code == 302, to_landing.text
    return to_landing.headers["location"]


def who(client: httpx.Client, platform: Platform) -> str:
    return client.get(origin(platform, "alpha") + "/").text.split('<p id="who">')[1].split("<")[0]


def test_someone_elses_hand_off_link_signs_nobody_in(platform: Platform) -> None:
    attacker = browser(platform)
    sign_in(attacker, "dave")
    link = landing_for(attacker, platform, "alpha")  # dave's own, fresh token

    victim = browser(platform)  # has never started a sign-in on alpha
    refused = victim.get(link)
    assert refused.status_code == 400
    assert "sessionid" not in refused.headers.get("set-cookie", "")
    assert who(victim, platform) == "stranger"

    alice = browser(platform)  # signing in herself: her state is not dave's
    sign_in(alice, "alice")
    alice.get(origin(platform, "alpha") + "/ebuio_login")
    assert alice.cookies.get(STATE, domain=f"alpha.{DOMAIN}")
    assert alice.get(link).status_code == 400
    assert who(alice, platform) == "stranger"

    assert attacker.get(link).status_code == 302  # still good in the browser it belongs to
    assert who(attacker, platform) == "dave"


def test_the_state_cookie_is_host_only_http_only_and_spent(platform: Platform) -> None:
    alice = browser(platform)
    sign_in(alice, "alice")
    started = alice.get(origin(platform, "alpha") + "/ebuio_login", params={"next": "/logged"})
    cookie = started.headers["set-cookie"]
    assert cookie.startswith(f"{STATE}=")
    assert "domain=" not in cookie.lower()
    assert "httponly" in cookie.lower()
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    assert state != cookie.split(";")[0].split("=", 1)[1]  # the platform sees only a hash

    landed = alice.get(alice.get(started.headers["location"]).headers["location"])
    assert landed.status_code == 302
    assert landed.headers["location"] == "/logged"
    assert any(
        header.startswith((f'{STATE}=""', f"{STATE}=;"))
        for header in landed.headers.get_list("set-cookie")
    ), landed.headers.get_list("set-cookie")
    assert who(alice, platform) == "alice"


def test_a_platform_link_without_a_state_goes_through_the_project_origin(
    platform: Platform,
) -> None:
    alice = browser(platform)
    sign_in(alice, "alice")
    bounced = alice.get("/accounts/handoff/alpha/", params={"next": "/logged"})
    assert bounced.status_code == 302
    assert bounced.headers["location"] == origin(platform, "alpha") + "/ebuio_login?next=%2Flogged"
    page = alice.get(bounced.headers["location"], follow_redirects=True)
    assert page.status_code == 200
    assert '<p id="who">alice</p>' in page.text
    assert str(page.url) == origin(platform, "alpha") + "/logged"


def test_on_https_only_a_host_prefixed_secure_state_cookie_counts(tls_platform: Platform) -> None:
    alice = browser(tls_platform)
    sign_in(alice, "alice")
    alpha = origin(tls_platform, "alpha")
    started = alice.get(alpha + "/ebuio_login", headers=HTTPS)
    cookie = started.headers["set-cookie"]
    assert cookie.startswith(f"__Host-{STATE}=")
    assert "secure" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "domain=" not in cookie.lower()
    state = cookie.split(";")[0].split("=", 1)[1]
    to_landing = alice.get(
        started.headers["location"].replace("https://", "http://"), headers=HTTPS
    )
    landing = to_landing.headers["location"].replace("https://", "http://")

    # A cookie without the prefix, as a sibling origin could plant it, is not the state.
    planted = browser(tls_platform).get(landing, headers={**HTTPS, "Cookie": f"{STATE}={state}"})
    assert planted.status_code == 400
    own = browser(tls_platform).get(landing, headers={**HTTPS, "Cookie": f"__Host-{STATE}={state}"})
    assert own.status_code == 302

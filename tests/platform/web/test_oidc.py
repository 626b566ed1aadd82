"""Single sign-on through OpenID Connect, against `FakeOIDCProvider` over real sockets.

The platform runs with `PLUGIT_OIDC_*` set; a browser-like client (httpx, redirects followed
by hand, cookies kept) clicks the provider's button on the login form, is sent to the fake
provider, which approves its one user at once, and comes back with a code and the state.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from oidc_provider import FakeOIDCProvider, TestUser
from plugit_platform_launch import Platform, apply, platform_env, platform_toml, serving

from plugit.testing import LiveServer

CLIENT_ID = "plugit-platform"
CLIENT_SECRET = "platform-oidc-secret-" + "x" * 20
PROVIDER_ID = "fakesso"
PROVIDER_NAME = "Fake Company SSO"
ERIN = TestUser(
    sub="fake-subject-0001", preferred_username="erin", email="erin@example.org", name="Erin"
)


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[FakeOIDCProvider, str]]:
    fake = FakeOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, user=ERIN)
    with LiveServer(fake.app) as server:
        yield fake, server.url


@pytest.fixture(autouse=True)
def honest_provider(provider: tuple[FakeOIDCProvider, str]) -> Iterator[None]:
    """Every test starts (and leaves) the provider signing honest tokens."""
    provider[0].forge = None
    yield
    provider[0].forge = None


@pytest.fixture(scope="module")
def sso_platform(
    provider: tuple[FakeOIDCProvider, str],
    service_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    workdir = tmp_path_factory.mktemp("oidc")
    env = platform_env(
        workdir / "data",
        PLUGIT_OIDC_SERVER_URL=provider[1],
        PLUGIT_OIDC_CLIENT_ID=CLIENT_ID,
        PLUGIT_OIDC_SECRET=CLIENT_SECRET,
        PLUGIT_OIDC_PROVIDER_ID=PROVIDER_ID,
        PLUGIT_OIDC_NAME=PROVIDER_NAME,
    )
    apply(env, workdir, platform_toml(service_urls["shared"], service_urls["other"]))
    with serving(env, workdir) as platform:
        yield platform


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def go_to_provider(client: httpx.Client) -> httpx.Response:
    """Click "sign in with <name>" on the login form and confirm; return the redirect."""
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    button = re.search(rf'<a title="{PROVIDER_NAME}" href="([^"]+)"', login.text)
    assert button is not None, login.text
    link = button.group(1).replace("&amp;", "&")
    assert link.startswith(f"/accounts/oidc/{PROVIDER_ID}/login/")
    confirm = client.get(link)
    assert confirm.status_code == 200
    answer = client.post(link, data={"csrfmiddlewaretoken": csrf(confirm)})
    assert answer.status_code == 302, answer.text
    return answer


def sso_sign_in(
    client: httpx.Client, issuer: str, *, edit_state: Callable[[str], str] | None = None
) -> httpx.Response:
    """Go through the provider and back; return the platform's answer to the callback."""
    to_provider = go_to_provider(client).headers["location"]
    assert to_provider.startswith(f"{issuer}/authorize?")
    asked = parse_qs(urlsplit(to_provider).query)
    assert asked["client_id"] == [CLIENT_ID]
    assert "openid" in asked["scope"][0].split()
    approved = client.get(to_provider)  # the provider approves its user at once
    assert approved.status_code == 302, approved.text
    callback = urlsplit(approved.headers["location"])
    assert callback.path == f"/accounts/oidc/{PROVIDER_ID}/login/callback/"
    params = {key: values[0] for key, values in parse_qs(callback.query).items()}
    assert params["state"] == asked["state"][0]
    if edit_state is not None:
        params["state"] = edit_state(params["state"])
    return client.get(f"{callback.path}?{urlencode(params)}")


def signed_in_as(client: httpx.Client) -> str | None:
    """The user the platform's home page shows, or None for a visitor."""
    found = re.search(r"Signed in as <strong>([^<]+)</strong>", client.get("/").text)
    return found.group(1) if found else None


def who_on_alpha(client: httpx.Client) -> str:
    found = re.search(r'id="who">([^<]*)<', client.get("/p/alpha/").text)
    assert found is not None
    return found.group(1)


def accounts_of(platform: Platform, subject: str) -> list[tuple[int, str, str]]:
    """The (user id, username, e-mail) linked to the provider's `subject`, from the database."""
    database = Path(platform.env["PLUGIT_DATA_DIR"]) / "db.sqlite3"
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT u.id, u.username, u.email FROM socialaccount_socialaccount s"
            " JOIN platform_user u ON u.id = s.user_id WHERE s.provider = ? AND s.uid = ?",
            (PROVIDER_ID, subject),
        ).fetchall()


def test_the_login_form_offers_the_provider(sso_platform: Platform) -> None:
    page = sso_platform.client().get("/accounts/login/")
    assert f">{PROVIDER_NAME}</a>" in page.text
    assert 'type="password"' in page.text  # local accounts keep working


def test_sign_in_through_the_provider(
    sso_platform: Platform, provider: tuple[FakeOIDCProvider, str]
) -> None:
    fake, issuer = provider
    client = sso_platform.client()
    calls = fake.token_calls
    back = sso_sign_in(client, issuer)
    assert back.status_code == 302, back.text
    assert back.headers["location"] == "/"
    assert fake.token_calls == calls + 1
    assert signed_in_as(client) == "erin"
    assert who_on_alpha(client) == "erin"
    assert "[erin@example.org]" in client.get("/p/alpha/").text
    assert [(name, email) for _, name, email in accounts_of(sso_platform, ERIN.sub)] == [
        ("erin", "erin@example.org")
    ]


def test_a_second_sign_in_maps_to_the_same_account(
    sso_platform: Platform, provider: tuple[FakeOIDCProvider, str]
) -> None:
    first = sso_platform.client()
    assert sso_sign_in(first, provider[1]).status_code == 302
    before = accounts_of(sso_platform, ERIN.sub)
    token = csrf(first.get("/accounts/logout/"))
    logout = first.post("/accounts/logout/", data={"csrfmiddlewaretoken": token})
    assert logout.status_code == 302
    assert signed_in_as(first) is None

    again = sso_sign_in(first, provider[1])
    assert again.status_code == 302
    assert signed_in_as(first) == "erin"
    elsewhere = sso_platform.client()  # another browser
    assert sso_sign_in(elsewhere, provider[1]).status_code == 302
    assert signed_in_as(elsewhere) == "erin"
    assert accounts_of(sso_platform, ERIN.sub) == before
    assert len(before) == 1


def test_a_wrong_state_is_refused(
    sso_platform: Platform, provider: tuple[FakeOIDCProvider, str]
) -> None:
    fake, issuer = provider
    client = sso_platform.client()
    calls = fake.token_calls
    answer = sso_sign_in(client, issuer, edit_state=lambda state: state[:-4] + "AAAA")
    assert answer.status_code != 302 or answer.headers["location"] != "/"
    assert fake.token_calls == calls  # the code is never traded
    assert signed_in_as(client) is None
    assert who_on_alpha(client) == "stranger"


def test_a_missing_state_is_refused(
    sso_platform: Platform, provider: tuple[FakeOIDCProvider, str]
) -> None:
    client = sso_platform.client()
    sso_sign_in(client, provider[1], edit_state=lambda state: "")
    assert signed_in_as(client) is None


def _reencoded(token: str, **changes: Any) -> str:
    """`token` with changed claims and its ORIGINAL signature (a tampered token)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


FORGERIES: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "another audience": lambda token, claims: _reencoded(token, aud="another-client"),
    "another issuer": lambda token, claims: _reencoded(token, iss="https://evil.example"),
    "expired": lambda token, claims: _reencoded(token, exp=int(time.time()) - 3600),
    # Honest claims, signed with a key that is not the provider's.
    "signed by another key": lambda token, claims: jwt.encode(
        claims, "not-the-provider-key-" + "k" * 20, "HS256", headers={"kid": "fake-oidc-key-1"}
    ),
}
UNCHECKED_SIGNATURE = pytest.mark.xfail(
    strict=True,
    reason="allauth checks no id_token signature when the token comes straight from the "
    "token endpoint (OIDC Core 3.1.3.7 step 6 lets TLS to the provider stand in for it); "
    "the user's identity is read from userinfo, over that same channel",
)


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param(name, marks=UNCHECKED_SIGNATURE) if name == "signed by another key" else name
        for name in FORGERIES
    ],
)
def test_a_tampered_id_token_is_refused(
    sso_platform: Platform, provider: tuple[FakeOIDCProvider, str], forgery: str
) -> None:
    fake, issuer = provider
    fake.forge = FORGERIES[forgery]
    client = sso_platform.client()
    calls = fake.token_calls
    answer = sso_sign_in(client, issuer)
    assert fake.token_calls == calls + 1  # the platform did trade the code
    assert answer.status_code != 302 or answer.headers["location"] != "/"
    assert signed_in_as(client) is None
    assert who_on_alpha(client) == "stranger"

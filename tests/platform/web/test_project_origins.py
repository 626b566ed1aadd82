"""An origin per project (PLUGIT_PROJECTS_DOMAIN), over real sockets: routing by Host, the
signed hand-off, host-only cookies, sign-out, and sandboxed files and media.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
from django.core import signing
from plugit_origins_kit import DOMAIN, browser, csrf_field, origin, origins_platform
from plugit_platform_launch import (
    REDIS_URL,
    SECRET_KEY,
    Platform,
    check_postgres_and_redis,
    sign_in,
)

from plugit_proxy.platform.handoff import HANDOFF_SALT


@pytest.fixture(scope="module", params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The platform on the embedded stores, and with Redis (cache, sessions, nonces)."""
    settings = {}
    if request.param == "redis":
        check_postgres_and_redis()
        settings = {"PLUGIT_REDIS_URL": REDIS_URL, "PLUGIT_CACHE_PREFIX": f"origins-{uuid4().hex}"}
    with origins_platform(tmp_path_factory.mktemp("origins"), **settings) as running:
        yield running


def signed_in(platform: Platform, username: str) -> httpx.Client:
    client = browser(platform)
    sign_in(client, username)
    return client


def handoff_url(client: httpx.Client, platform: Platform, slug: str, path: str) -> str:
    """Sign in on `slug`'s origin (its state cookie, then the platform); give the landing URL."""
    to_platform = client.get(origin(platform, slug) + "/ebuio_login", params={"next": path})
    assert to_platform.status_code == 302, to_platform.text
    answer = client.get(to_platform.headers["location"])
    assert answer.status_code == 302, answer.text
    target = answer.headers["location"]
    assert target.startswith(origin(platform, slug) + "/ebuio_handoff?token=")
    return target


def set_cookies(answer: httpx.Response) -> list[str]:
    return answer.headers.get_list("set-cookie")


def test_platform_paths_redirect_to_the_project_origin(platform: Platform) -> None:
    client = browser(platform)
    answer = client.get("/p/alpha/logged?x=1")
    assert answer.status_code == 302
    assert answer.headers["location"] == origin(platform, "alpha") + "/logged?x=1"
    assert client.get("/p/alpha").headers["location"] == origin(platform, "alpha") + "/"


def test_a_project_is_served_at_the_root_of_its_origin(platform: Platform) -> None:
    page = browser(platform).get(origin(platform, "alpha") + "/")
    assert page.status_code == 200
    assert '<p id="base">/</p>' in page.text
    assert '<p id="media">/media/</p>' in page.text
    assert 'href="/ebuio_login?next=/"' in page.text  # the header's sign-in link


def test_only_configured_project_names_are_served(platform: Platform) -> None:
    client = browser(platform)
    port = platform.url.rsplit(":", 1)[1]
    for host in ("nope.localhost", "alpha.alpha.localhost", "-x.localhost"):
        answer = client.get(f"http://{host}:{port}/")
        assert answer.status_code == 404, host
        assert "No such project" in answer.text


def test_django_paths_are_not_served_on_a_project_origin(platform: Platform) -> None:
    root = signed_in(platform, "root")
    assert root.get("/admin/").status_code == 200  # the platform's origin has the admin
    alpha = origin(platform, "alpha")
    for path in ("/admin/", "/admin/login/", "/accounts/login/", "/accounts/handoff/alpha/"):
        answer = root.get(alpha + path)
        assert answer.status_code == 404, path
        assert "csrfmiddlewaretoken" not in answer.text
        assert "Django" not in answer.text
    api = root.get(alpha + "/ebuio_api/user/1", headers={"Authorization": "Bearer x"})
    assert api.status_code == 404


def test_hand_off_signs_in_on_the_project_origin_with_a_host_only_cookie(
    platform: Platform,
) -> None:
    client = browser(platform)
    alpha = origin(platform, "alpha")
    refused = client.get(alpha + "/logged")  # only_logged_user, anonymous
    assert refused.headers["location"] == "/ebuio_login?next=%2Flogged"
    to_platform = client.get(alpha + "/ebuio_login?next=%2Flogged")
    handoff_link = to_platform.headers["location"]
    assert handoff_link.startswith(f"{platform.url}/accounts/handoff/alpha/?next=%2Flogged&state=")
    to_login = client.get(handoff_link)
    assert to_login.headers["location"].startswith("/accounts/login/?next=")
    sign_in(client, "alice", next_url=handoff_link.removeprefix(platform.url))

    landing = client.get(client.get(handoff_link).headers["location"])
    assert landing.status_code == 302
    assert landing.headers["location"] == "/logged"
    cookies = set_cookies(landing)
    assert any(cookie.startswith("sessionid=") for cookie in cookies), cookies
    assert not any("domain=" in cookie.lower() for cookie in cookies), cookies
    page = client.get(alpha + "/logged")
    assert '<p id="who">alice</p>' in page.text

    # beta's origin has cookies of its own: alice is not signed in there.
    beta = client.get(origin(platform, "beta") + "/")
    assert beta.headers["location"] == "/ebuio_login?next=%2F"


def holding_state(platform: Platform, client: httpx.Client, slug: str) -> httpx.Client:
    """A new browser holding `client`'s hand-off state cookie, on `slug`'s origin."""
    state = client.cookies.get("plugit-handoff", domain=f"alpha.{DOMAIN}")
    assert state
    other = browser(platform)
    other.cookies.set("plugit-handoff", state, domain=f"{slug}.{DOMAIN}")
    return other


def test_a_token_is_spent_once(platform: Platform) -> None:
    alice = signed_in(platform, "alice")
    landing = handoff_url(alice, platform, "alpha", "/")
    twin = holding_state(platform, alice, "alpha")  # the same state: only the nonce stops it
    assert alice.get(landing).status_code == 302
    replayed = twin.get(landing)
    assert replayed.status_code == 400
    assert "sessionid" not in replayed.headers.get("set-cookie", "")


def test_a_token_for_one_project_is_refused_by_another(platform: Platform) -> None:
    alice = signed_in(platform, "alice")
    landing = handoff_url(alice, platform, "alpha", "/")
    other = landing.replace(origin(platform, "alpha"), origin(platform, "gamma"))
    assert holding_state(platform, alice, "gamma").get(other).status_code == 400
    assert alice.get(landing).status_code == 302  # not spent by the refusal


def resigned(landing: str, platform: Platform, age: float) -> str:
    """The landing URL with the same token signed again `age` seconds ago, with a new nonce."""
    token = parse_qs(urlsplit(landing).query)["token"][0]
    payload = signing.loads(token, key=SECRET_KEY, salt=HANDOFF_SALT)
    payload["n"] = f"fresh-{time.monotonic_ns()}"

    class Signer(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time() - age))

    signed = Signer(key=SECRET_KEY, salt=HANDOFF_SALT).sign_object(payload)
    return landing.split("?", 1)[0] + "?" + httpx.QueryParams({"token": signed}).__str__()


def test_an_expired_or_forged_token_is_refused(platform: Platform) -> None:
    alice = signed_in(platform, "alice")
    landing = handoff_url(alice, platform, "alpha", "/")
    assert alice.get(resigned(landing, platform, age=120)).status_code == 400
    assert alice.get(landing + "x").status_code == 400
    assert alice.get(resigned(landing, platform, age=0)).status_code == 302


def test_signing_out_of_the_platform_signs_out_of_project_origins(platform: Platform) -> None:
    alice = signed_in(platform, "alice")
    alpha = origin(platform, "alpha")
    alice.get(handoff_url(alice, platform, "alpha", "/logged"))
    assert '<p id="who">alice</p>' in alice.get(alpha + "/logged").text

    header_link = alice.get(alpha + "/ebuio_logout")
    assert header_link.headers["location"] == platform.url + "/accounts/logout/"
    form = alice.get("/accounts/logout/")
    alice.post("/accounts/logout/", data={"csrfmiddlewaretoken": csrf_field(form.text)})
    assert alice.get(alpha + "/logged").headers["location"] == "/ebuio_login?next=%2Flogged"


def test_members_only_project_after_hand_off(platform: Platform) -> None:
    alice, dave = signed_in(platform, "alice"), signed_in(platform, "dave")
    beta = origin(platform, "beta")
    alice.get(handoff_url(alice, platform, "beta", "/"))
    assert '<p id="who">alice</p>' in alice.get(beta + "/").text
    dave.get(handoff_url(dave, platform, "beta", "/"))
    assert dave.get(beta + "/").status_code == 403  # signed in, not a member


@pytest.mark.parametrize(
    ("slug", "path"), [("files", "/file"), ("files", "/media/evil.svg"), ("proxied", "/bare")]
)
def test_service_answers_that_are_not_pages_are_sandboxed(
    platform: Platform, slug: str, path: str
) -> None:
    answer = browser(platform).get(origin(platform, slug) + path)
    assert answer.status_code == 200
    assert "<script>" in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"] == "sandbox"

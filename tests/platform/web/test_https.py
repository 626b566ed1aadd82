"""The HTTPS opt-ins, over real sockets: `requires_https` on a project, `PLUGIT_HTTPS_REDIRECT`,
`PLUGIT_SECURE_COOKIES`, `PLUGIT_HSTS_SECONDS` and `PLUGIT_BEHIND_TLS_PROXY`.

The platforms speak plain HTTP on 127.0.0.1; "over HTTPS" means what a TLS-terminating reverse
proxy forwards: the same request with `X-Forwarded-Proto: https`, which counts only when
`PLUGIT_BEHIND_TLS_PROXY` says such a proxy is in front.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from plugit_platform_launch import PASSWORDS, Platform, apply, platform_env, platform_toml, serving

from plugit import Service
from plugit.testing import LiveServer
from plugit.utils import json_only, public

FROM_TLS_PROXY = {"X-Forwarded-Proto": "https"}
HSTS_SECONDS = 3600


def form_service(root: Path) -> Service:
    """A service with a form to post (`/echo`), open to visitors."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    svc = Service(root=str(root))

    @svc.action("/echo", methods=["GET", "POST"])
    @public()
    @json_only()
    def echo(request: Any) -> dict[str, Any]:
        return {"method": request.method, "field": request.form.get("field", "")}

    return svc


@pytest.fixture(scope="module")
def forms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with LiveServer(form_service(tmp_path_factory.mktemp("forms"))) as server:
        yield server.url


def secure_project(forms: str) -> str:
    return f"""
[[projects]]
slug = "secure"
name = "Secure"
services = ["{forms}"]
requires_https = true
"""


def start(
    name: str,
    service_urls: dict[str, str],
    forms_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    **settings: str,
) -> Iterator[Platform]:
    workdir = tmp_path_factory.mktemp(name)
    env = platform_env(workdir / "data", **settings)
    text = platform_toml(service_urls["shared"], service_urls["other"])
    apply(env, workdir, text + secure_project(forms_url))
    with serving(env, workdir) as platform:
        yield platform


@pytest.fixture(scope="module")
def plain(
    service_urls: dict[str, str], forms_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """No opt-in set: plain HTTP, and X-Forwarded-Proto means nothing."""
    yield from start("https-plain", service_urls, forms_url, tmp_path_factory)


@pytest.fixture(scope="module")
def proxied(
    service_urls: dict[str, str], forms_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Behind a TLS proxy, with Secure cookies and HSTS, no redirect of every request."""
    yield from start(
        "https-proxied",
        service_urls,
        forms_url,
        tmp_path_factory,
        PLUGIT_BEHIND_TLS_PROXY="true",
        PLUGIT_SECURE_COOKIES="true",
        PLUGIT_HSTS_SECONDS=str(HSTS_SECONDS),
    )


@pytest.fixture(scope="module")
def redirecting(
    service_urls: dict[str, str], forms_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Behind a TLS proxy, sending every plain-HTTP request to HTTPS."""
    yield from start(
        "https-redirect",
        service_urls,
        forms_url,
        tmp_path_factory,
        PLUGIT_BEHIND_TLS_PROXY="true",
        PLUGIT_HTTPS_REDIRECT="true",
    )


def host_of(platform: Platform) -> str:
    return platform.url.removeprefix("http://")


def set_cookie(answer: httpx.Response, name: str) -> str:
    """The Set-Cookie header that sets `name` (there must be one)."""
    lines = [line for line in answer.headers.get_list("set-cookie") if line.startswith(f"{name}=")]
    assert len(lines) == 1, answer.headers
    return lines[0]


def is_secure(cookie_line: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie_line.split(";")[1:])


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def cookie_value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1]


def sign_in_raw(platform: Platform, username: str, **headers: str) -> httpx.Response:
    """Post the login form with hand-carried cookies (a Secure cookie never goes over http)."""
    client = platform.client()
    form = client.get("/accounts/login/", headers=headers)
    secret = cookie_value(set_cookie(form, "csrftoken"))
    origin = ("https://" if headers else "http://") + host_of(platform)
    return client.post(
        "/accounts/login/",
        data={
            "login": username,
            "password": PASSWORDS[username],
            "csrfmiddlewaretoken": csrf_of(form),
        },
        headers={**headers, "Origin": origin, "Cookie": f"csrftoken={secret}"},
    )


# -- requires_https on a project ----------------------------------------------------------------


def test_requires_https_redirects_plain_http_pages(plain: Platform) -> None:
    client = plain.client()
    answer = client.get("/p/secure/logged?x=1&y=two")
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{host_of(plain)}/p/secure/logged?x=1&y=two"
    root = client.get("/p/secure/")
    assert root.headers["location"] == f"https://{host_of(plain)}/p/secure/"
    assert client.get("/p/alpha/").status_code == 200  # other projects stay on HTTP


def test_forwarded_proto_is_ignored_without_a_tls_proxy(plain: Platform) -> None:
    # Anyone can send the header: without PLUGIT_BEHIND_TLS_PROXY it proves nothing.
    answer = plain.client().get("/p/secure/", headers=FROM_TLS_PROXY)
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{host_of(plain)}/p/secure/"


def test_requires_https_accepts_https_from_the_tls_proxy(proxied: Platform) -> None:
    client = proxied.client()
    page = client.get("/p/secure/echo", headers=FROM_TLS_PROXY)
    assert page.status_code == 200, page.text
    assert page.json()["method"] == "GET"
    answer = client.get("/p/secure/")  # the proxy's plain-HTTP side
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{host_of(proxied)}/p/secure/"


# -- Nothing set: plain HTTP works, nothing is forced ------------------------------------------


def test_without_opt_ins_cookies_are_not_secure_and_there_is_no_hsts(plain: Platform) -> None:
    login = plain.client().get("/accounts/login/")
    assert login.status_code == 200
    assert not is_secure(set_cookie(login, "csrftoken"))
    assert "strict-transport-security" not in login.headers
    signed_in = sign_in_raw(plain, "alice")
    assert signed_in.status_code == 302, signed_in.text
    assert not is_secure(set_cookie(signed_in, "sessionid"))
    page = plain.login("alice").get("/p/alpha/set", params={"value": "v"}, headers=FROM_TLS_PROXY)
    assert page.status_code == 200, page.text
    assert not is_secure(set_cookie(page, "sessionid"))
    assert "strict-transport-security" not in page.headers


# -- PLUGIT_SECURE_COOKIES ---------------------------------------------------------------------


def test_secure_cookies_on_django_pages(proxied: Platform) -> None:
    login = proxied.client().get("/accounts/login/", headers=FROM_TLS_PROXY)
    assert is_secure(set_cookie(login, "csrftoken"))
    signed_in = sign_in_raw(proxied, "alice", **FROM_TLS_PROXY)
    assert signed_in.status_code == 302, signed_in.text
    assert is_secure(set_cookie(signed_in, "sessionid"))


def test_secure_cookies_on_project_pages(proxied: Platform) -> None:
    session = cookie_value(set_cookie(sign_in_raw(proxied, "alice", **FROM_TLS_PROXY), "sessionid"))
    page = proxied.client().get(
        "/p/alpha/set",
        params={"value": "v"},
        headers={**FROM_TLS_PROXY, "Cookie": f"sessionid={session}"},
    )
    assert page.status_code == 200, page.text
    assert is_secure(set_cookie(page, "sessionid"))


# -- PLUGIT_HSTS_SECONDS -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/p/alpha/", "/p/secure/echo"])
def test_hsts_is_sent_over_https(proxied: Platform, path: str) -> None:
    answer = proxied.client().get(path, headers=FROM_TLS_PROXY)
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"] == f"max-age={HSTS_SECONDS}"


@pytest.mark.parametrize("path", ["/", "/p/alpha/"])
def test_hsts_is_never_sent_over_plain_http(proxied: Platform, path: str) -> None:
    answer = proxied.client().get(path)
    assert answer.status_code == 200
    assert "strict-transport-security" not in answer.headers


# -- PLUGIT_BEHIND_TLS_PROXY: a project's forms, posted over HTTPS -----------------------------


def test_a_form_posted_through_the_tls_proxy_passes_the_csrf_check(proxied: Platform) -> None:
    # The browser says it comes from https://<host>: that is the platform's own origin.
    secret = secrets.token_hex(16)  # a CSRF secret: 32 allowed characters
    headers = {
        **FROM_TLS_PROXY,
        "Origin": f"https://{host_of(proxied)}",
        "Cookie": f"csrftoken={secret}",
    }
    client = proxied.client()
    form = {"csrfmiddlewaretoken": secret, "field": "sent"}
    answer = client.post("/p/secure/echo", data=form, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"method": "POST", "field": "sent"}
    form["csrfmiddlewaretoken"] = "x" * 32
    assert client.post("/p/secure/echo", data=form, headers=headers).status_code == 403


# -- PLUGIT_HTTPS_REDIRECT ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/?next=%2Fp%2Falpha%2F", "/p/alpha/logged", "/p/secure/"]
)
def test_https_redirect_sends_plain_http_to_https(redirecting: Platform, path: str) -> None:
    answer = redirecting.client().get(path)
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{host_of(redirecting)}{path}"


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/p/alpha/", "/p/secure/echo"])
def test_https_redirect_serves_https_from_the_tls_proxy(redirecting: Platform, path: str) -> None:
    answer = redirecting.client().get(path, headers=FROM_TLS_PROXY)
    assert answer.status_code == 200, answer.headers

"""The page pipeline keeps Django's guarantees: the same request, through Django and through it.

Each test sends one request to a tiny Django site behind Django's own SessionMiddleware,
CsrfViewMiddleware and AuthenticationMiddleware (Django's async test client), and the same
request to the pipeline (an in-process proxy in front of the demo service), then compares
what a browser sees: accept or refuse, the cookies set or deleted with their attributes, and
the `Vary` header.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookies import Morsel, SimpleCookie
from importlib import import_module
from pathlib import Path
from typing import Any

import django
import httpx
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware import csrf as django_csrf
from django.test import AsyncClient, override_settings
from django.urls import path

from plugit.testing import LiveServer
from plugit_proxy import __file__ as proxy_init
from plugit_proxy import djangointernals
from plugit_proxy.csrf import mask_secret, new_secret
from plugit_proxy.standalone import DEFAULT_USER_MODE, SESSION_USER_MODE

from .conftest import ProxyFactory

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
CACHED_SESSIONS = "django.contrib.sessions.backends.cache"


async def accept(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accepted")


async def set_mode(request: HttpRequest) -> HttpResponse:
    await request.session.aset(SESSION_USER_MODE, request.GET["mode"])
    return HttpResponse("set")


async def read_mode(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(await request.session.aget(SESSION_USER_MODE, DEFAULT_USER_MODE)))


class DjangoSite:
    """The URLconf of the Django side: views that do what the pipeline's pages do."""

    urlpatterns = [path("form", accept), path("set", set_mode), path("read", read_mode)]


@contextmanager
def django_stack(**overrides: Any) -> Iterator[None]:
    """Django's middleware in front of DjangoSite, with `overrides` for both sides."""
    with override_settings(
        ROOT_URLCONF=DjangoSite,
        MIDDLEWARE=MIDDLEWARE,
        ALLOWED_HOSTS=["testserver"],
        **overrides,
    ):
        yield


async def pipeline(proxy_factory: ProxyFactory, service: LiveServer) -> httpx.AsyncClient:
    """A proxy built under the current settings (it reads them once, when built)."""
    handle = proxy_factory(service.url)
    await handle.app.startup()
    return handle.client


def cookie_of(set_cookies: list[str], name: str) -> Morsel[str] | None:
    """The `name` cookie among Set-Cookie header values, if one sets it."""
    for header in set_cookies:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name]
    return None


def django_set_cookies(response: HttpResponseBase) -> list[str]:
    return [morsel.OutputString() for morsel in response.cookies.values()]


def attributes(morsel: Morsel[str] | None) -> dict[str, Any] | None:
    """What a browser keeps of a cookie; `expires` as seconds from now (0 when past)."""
    if morsel is None:
        return None
    expires: int | None = None
    if morsel["expires"]:
        when = parsedate_to_datetime(morsel["expires"])
        expires = max(0, round((when - datetime.now(UTC)).total_seconds()))
    return {
        "value": "" if morsel["max-age"] in (0, "0") else morsel.value,
        "max-age": int(morsel["max-age"]) if morsel["max-age"] != "" else None,
        "expires": expires,
        "path": morsel["path"] or None,
        "domain": morsel["domain"] or None,
        "samesite": str(morsel["samesite"]).lower() or None,
        "secure": bool(morsel["secure"]),
        "httponly": bool(morsel["httponly"]),
    }


def assert_same_cookie(django: dict[str, Any] | None, ours: dict[str, Any] | None) -> None:
    """Equal attributes; the ages may differ by the second or two between the two requests."""
    assert (django is None) == (ours is None), (django, ours)
    if django is None or ours is None:
        return
    for key in ("max-age", "expires"):
        assert (django[key] is None) == (ours[key] is None), (key, django, ours)
        if django[key] is not None:
            assert abs(django[key] - ours[key]) <= 2, (key, django, ours)
    rest = {k: v for k, v in django.items() if k not in ("max-age", "expires")}
    assert rest == {k: v for k, v in ours.items() if k not in ("max-age", "expires")}


def varies_on_cookie(vary: str | None) -> bool:
    return "cookie" in [name.strip().lower() for name in (vary or "").split(",")]


async def saved_session(data: dict[str, Any], expiry: Any = None) -> str:
    """Save a session with Django's session API (as Django's own views do); give its cookie."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for key, value in data.items():
        await store.aset(key, value)
    if expiry is not None:
        await store.aset_expiry(expiry)
    await store.asave()
    return str(store.session_key)


# -- sessions ----------------------------------------------------------------------------------

EXPIRIES = [None, 300, 0, timedelta(hours=2)]
SESSION_SETTINGS = [
    {},
    {"SESSION_ENGINE": CACHED_SESSIONS},
    {"SESSION_EXPIRE_AT_BROWSER_CLOSE": True},
    {"SESSION_COOKIE_DOMAIN": "testserver", "SESSION_COOKIE_SAMESITE": "Strict"},
]


@pytest.mark.parametrize("overrides", SESSION_SETTINGS)
@pytest.mark.parametrize("expiry", EXPIRIES, ids=str)
async def test_a_saved_session_keeps_its_own_expiry(
    proxy_factory: ProxyFactory,
    demo_service: LiveServer,
    expiry: Any,
    overrides: dict[str, Any],
) -> None:
    with django_stack(**overrides):
        client = await pipeline(proxy_factory, demo_service)
        name = settings.SESSION_COOKIE_NAME
        key = await saved_session({SESSION_USER_MODE: "log"}, expiry)
        django = AsyncClient()
        django.cookies[name] = key
        theirs = await django.get("/set", {"mode": "adm"})
        ours = await client.get(
            "/plugIt/ebuio_setUser", params={"mode": "adm"}, headers={"cookie": f"{name}={key}"}
        )
    assert ours.status_code == 302
    theirs_cookie = attributes(cookie_of(django_set_cookies(theirs), name))
    ours_cookie = attributes(cookie_of(ours.headers.get_list("set-cookie"), name))
    assert theirs_cookie is not None
    theirs_cookie["value"] = ours_cookie["value"] if ours_cookie else None  # new data, new key
    assert_same_cookie(theirs_cookie, ours_cookie)
    assert varies_on_cookie(theirs.get("vary"))
    assert varies_on_cookie(ours.headers.get("vary"))


async def test_pages_that_read_the_session_vary_on_cookie(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    with django_stack():
        client = await pipeline(proxy_factory, demo_service)
        theirs = await AsyncClient().get("/read")
        ours = await client.get("/plugIt/")
    assert ours.status_code == 200
    assert varies_on_cookie(theirs.get("vary"))
    assert ours.headers.get("vary") == "Cookie"  # once, however many parts vary on it
    assert cookie_of(ours.headers.get_list("set-cookie"), "sessionid") is None


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"SESSION_COOKIE_DOMAIN": "testserver", "SESSION_COOKIE_PATH": "/plugIt/"},
        {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True},
        {"SESSION_COOKIE_SAMESITE": "Strict", "SESSION_COOKIE_NAME": "__Host-session"},
    ],
)
async def test_an_emptied_session_deletes_its_cookie_as_it_was_set(
    proxy_factory: ProxyFactory, demo_service: LiveServer, overrides: dict[str, Any]
) -> None:
    with django_stack(SESSION_ENGINE=CACHED_SESSIONS, **overrides):
        client = await pipeline(proxy_factory, demo_service)
        name = settings.SESSION_COOKIE_NAME
        gone = "no-such-session-" + new_secret()  # a session the store no longer holds
        django = AsyncClient()
        django.cookies[name] = gone
        theirs = await django.get("/read")
        ours = await client.get("/plugIt/", headers={"cookie": f"{name}={gone}"})
    theirs_cookie = attributes(cookie_of(django_set_cookies(theirs), name))
    ours_cookie = attributes(cookie_of(ours.headers.get_list("set-cookie"), name))
    assert theirs_cookie is not None
    assert theirs_cookie["max-age"] == 0
    assert_same_cookie(theirs_cookie, ours_cookie)
    assert varies_on_cookie(ours.headers.get("vary"))


async def test_an_expired_session_is_not_loaded(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    with django_stack(SESSION_ENGINE=CACHED_SESSIONS):
        client = await pipeline(proxy_factory, demo_service)
        past = datetime.now(UTC) - timedelta(minutes=1)
        expired = await saved_session({SESSION_USER_MODE: "adm"}, past)
        live = await saved_session({SESSION_USER_MODE: "adm"}, 300)
        shown = {}
        for label, key in (("expired", expired), ("live", live)):
            django = AsyncClient()
            django.cookies["sessionid"] = key
            theirs = (await django.get("/read")).content.decode()
            page = await client.get("/plugIt/", headers={"cookie": f"sessionid={key}"})
            ours = page.text.split('<p id="mode">', 1)[1].split(" ", 1)[0]
            shown[label] = (theirs, ours)
    assert shown == {"expired": (DEFAULT_USER_MODE, DEFAULT_USER_MODE), "live": ("adm", "adm")}


# -- CSRF --------------------------------------------------------------------------------------

TRUSTED = ["https://trusted.example", "https://*.wild.example", "http://*.plain.example:8080"]
ORIGINS = [
    None,
    "own",
    "null",
    "https://evil.example",
    "https://trusted.example",
    "http://trusted.example",
    "https://sub.wild.example",
    "https://wild.example",
    "https://a.b.wild.example",
    "http://sub.wild.example",
    "https://notwild.example",
    "http://x.plain.example:8080",
    "http://x.plain.example",
]
REFERERS = [
    None,
    "own",
    "http://testserver/plugIt/",
    "https://evil.example/page",
    "https://sub.wild.example/page",
    "https://trusted.example/",
    "https://x.plain.example:8080/",
    "https://sub.testserver/page",
    "testserver/no-scheme",
    "https://[bad/",
]
TOKENS = ["form", "header", "missing", "wrong", "wrong form, good header", "malformed"]
COOKIES = ["good", "missing", "malformed", "masked"]


def csrf_cases() -> Iterator[tuple[bool, str | None, str | None, str, str]]:
    """The table: the Referer matters only without an Origin, the cookie only with a token."""
    for secure, origin in itertools.product((False, True), ORIGINS):
        referers = REFERERS if origin is None else [None, "own"]
        for referer, token in itertools.product(referers, TOKENS):
            yield secure, origin, referer, token, "good"
        if origin in (None, "own"):
            for cookie in COOKIES[1:]:
                yield secure, origin, "own", "form", cookie


def csrf_request(
    secure: bool, origin: str | None, referer: str | None, token: str, cookie: str
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """The form, the headers and the cookie value of one case of the table."""
    own = f"{'https' if secure else 'http'}://testserver"
    secret = new_secret()
    good, wrong = mask_secret(secret), mask_secret(new_secret())
    form: dict[str, str] = {"thing": "x"}
    headers: dict[str, str] = {}
    if origin is not None:
        headers["origin"] = own if origin == "own" else origin
    if referer is not None:
        headers["referer"] = own + "/plugIt/" if referer == "own" else referer
    match token:
        case "form":
            form["csrfmiddlewaretoken"] = good
        case "header":
            headers["x-csrftoken"] = secret
        case "wrong":
            form["csrfmiddlewaretoken"] = wrong
        case "wrong form, good header":
            form["csrfmiddlewaretoken"] = wrong
            headers["x-csrftoken"] = good
        case "malformed":
            headers["x-csrftoken"] = "not a token"
    cookies = {"good": secret, "missing": None, "malformed": "short", "masked": mask_secret(secret)}
    return form, headers, cookies[cookie]


CSRF_SETTINGS = [
    {"CSRF_TRUSTED_ORIGINS": TRUSTED},
    {"CSRF_TRUSTED_ORIGINS": TRUSTED, "CSRF_COOKIE_DOMAIN": ".testserver"},
    {"CSRF_TRUSTED_ORIGINS": []},
]


@pytest.mark.parametrize("overrides", CSRF_SETTINGS)
async def test_csrf_refuses_and_accepts_as_django(
    proxy_factory: ProxyFactory, demo_service: LiveServer, overrides: dict[str, Any]
) -> None:
    differences = []
    with django_stack(**overrides):
        client = await pipeline(proxy_factory, demo_service)
        for case in csrf_cases():
            secure = case[0]
            form, headers, cookie = csrf_request(*case)
            django = AsyncClient(enforce_csrf_checks=True)
            if cookie is not None:
                django.cookies["csrftoken"] = cookie
            theirs = await django.post("/form", form, secure=secure, headers=headers)
            if cookie is not None:
                headers["cookie"] = f"csrftoken={cookie}"
            url = f"{'https' if secure else 'http'}://testserver/plugIt/form"
            ours = await client.post(url, data=form, headers=headers)
            assert theirs.status_code in (200, 403), case
            assert ours.status_code in (200, 403), case
            if theirs.status_code != ours.status_code:
                differences.append((case, theirs.status_code, ours.status_code))
    assert not differences, "\n".join(
        f"{case}: Django {theirs}, pipeline {ours}" for case, theirs, ours in differences
    )


async def test_a_malformed_csrf_cookie_is_replaced_as_django_does(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    with django_stack():
        client = await pipeline(proxy_factory, demo_service)
        django = AsyncClient()
        django.cookies["csrftoken"] = "short"
        theirs = await django.get("/read")
        ours = await client.get("/plugIt/", headers={"cookie": "csrftoken=short"})
    theirs_cookie = attributes(cookie_of(django_set_cookies(theirs), "csrftoken"))
    ours_cookie = attributes(cookie_of(ours.headers.get_list("set-cookie"), "csrftoken"))
    assert theirs_cookie is not None
    assert ours_cookie is not None
    assert len(theirs_cookie["value"]) == len(ours_cookie["value"]) == 32
    theirs_cookie["value"] = ours_cookie["value"]
    assert_same_cookie(theirs_cookie, ours_cookie)
    assert varies_on_cookie(ours.headers.get("vary"))


# -- Django's private helpers ------------------------------------------------------------------


def test_the_private_django_helpers_are_still_there() -> None:
    """Fail loudly when a Django upgrade moves what plugit_proxy.djangointernals wraps."""
    expected = {
        "_check_token_format": ["token"],
        "_does_token_match": ["request_csrf_token", "csrf_secret"],
        "_unmask_cipher_token": ["token"],
        "_mask_cipher_secret": ["secret"],
    }
    for name, parameters in expected.items():
        helper = getattr(django_csrf, name, None)
        assert callable(helper), (
            f"django.middleware.csrf.{name} is gone in Django {django.get_version()}: "
            "update plugit_proxy/djangointernals.py to Django's new CSRF helpers"
        )
        found = list(inspect.signature(helper).parameters)
        assert found == parameters, (
            f"django.middleware.csrf.{name} now takes {found}, not {parameters}: "
            "update plugit_proxy/djangointernals.py"
        )
    secret = new_secret()
    masked = django_csrf._mask_cipher_secret(secret)  # type: ignore[attr-defined]
    assert djangointernals.unmask_cipher_token(masked) == secret
    assert djangointernals.does_token_match(masked, secret)
    assert djangointernals.does_token_match(secret, secret)
    assert not djangointernals.does_token_match(mask_secret(new_secret()), secret)
    for bad, reason in (("short", "incorrect length"), ("*" * 32, "invalid characters")):
        with pytest.raises(django_csrf.InvalidTokenFormat, match=reason):
            djangointernals.check_token_format(bad)


def test_the_pipeline_imports_no_private_django_names() -> None:
    """Only plugit_proxy.djangointernals reaches into Django's private names."""
    root = Path(proxy_init).parent
    modules = [
        root / "sessions.py",
        root / "csrf.py",
        root / "cookies.py",
        root / "identity.py",
        root / "platform" / "identities.py",
        root / "platform" / "keys.py",
        root / "api" / "auth.py",
        *(root / "pipeline").glob("*.py"),
    ]
    private = []
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django"):
                private += [
                    f"{module.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and (isinstance(node.value, ast.Name) and node.value.id.startswith("django"))
            ):
                private.append(f"{module.name}: {node.value.id}.{node.attr}")
    assert not private, private

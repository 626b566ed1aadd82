"""Routing by identity: who sees which version of a project (docs/routing.md).

Two real services on real sockets, `prod` and `dev`, each saying which it is on every page,
menu, include and media file; the proxy on its own real socket, one browser-like client (its
own cookies) per simulated user.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.config import RouteRule, ServiceVersion
from plugit_proxy.versionrouting import parse_route
from versioned_services_kit import build_version_service

from .conftest import ProxyFactory, as_user

VERSION = re.compile(r"<p id='version'>(\w+)</p>")
BADGE = re.compile(r'class="badge text-bg-warning plugit-version"[^>]*>([^<]+)<')
SWITCH_FORM = re.compile(r'<form class="dropdown-menu[^"]*plugit-version-switch".*?</form>', re.S)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("versions")
    with (
        LiveServer(build_version_service(root / "prod", "prod")) as prod,
        LiveServer(build_version_service(root / "dev", "dev")) as dev,
    ):
        yield {"prod": prod.url, "dev": dev.url}


class Browsers:
    """Fresh clients (each with its own cookies) on one live proxy."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[httpx.AsyncClient] = []

    async def as_user(self, mode: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.url, timeout=15)
        self.opened.append(client)
        await as_user(client, mode)
        return client


Routed = Callable[..., Awaitable[Browsers]]


@pytest.fixture
async def routed(proxy_factory: ProxyFactory, services: dict[str, str]) -> AsyncIterator[Routed]:
    """`await routed("dev=users:logged", ...)`: a live proxy with those routes."""
    browsers: list[Browsers] = []

    async def start(*routes: str, **project: object) -> Browsers:
        handle = proxy_factory(
            services["prod"],
            live=True,
            versions=(ServiceVersion(name="dev", service_urls=(services["dev"],)),),
            rules=tuple(parse_route(route, where="test") for route in routes),
            **project,
        )
        made = Browsers(str(handle.client.base_url))
        browsers.append(made)
        return made

    yield start
    for made in browsers:
        for client in made.opened:
            await client.aclose()


def version_in(page: str) -> str:
    """Name the service version a page came from (it says so in `<p id='version'>`)."""
    found = VERSION.search(page)
    assert found is not None, page
    return found.group(1)


async def version_of(client: httpx.AsyncClient, path: str = "/plugIt/") -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return version_in(response.text)


async def test_listed_user_sees_dev_and_another_production(routed: Routed) -> None:
    proxy = await routed("dev=users:logged")
    logged, member, anonymous = (
        await proxy.as_user("log"),
        await proxy.as_user("mem"),
        await proxy.as_user("ano"),
    )
    assert await version_of(logged) == "dev"
    assert await version_of(member) == "prod"
    assert await version_of(anonymous) == "prod"
    # Everything the page is made of comes from the chosen version: menu, include, media.
    page = (await logged.get("/plugIt/")).text
    assert "dev-menu" in page
    assert "prod-menu" not in page
    assert "<p id='part'>dev-part</p>" in (await logged.get("/plugIt/include")).text
    assert "<p id='part'>prod-part</p>" in (await member.get("/plugIt/include")).text
    assert (await logged.get("/plugIt/media/which.txt")).text == "dev"
    assert (await member.get("/plugIt/media/which.txt")).text == "prod"


async def test_first_matching_rule_wins(routed: Routed) -> None:
    proxy = await routed("production=users:member", "dev=members")
    member, admin = await proxy.as_user("mem"), await proxy.as_user("adm")
    assert await version_of(member) == "prod"  # listed first, for production
    assert await version_of(admin) == "dev"  # administrators are members too


async def test_organisation_rule_follows_the_users_organisation(routed: Routed) -> None:
    proxy = await routed("dev=orgas:chrts,gbbbc")
    member = await proxy.as_user("mem")
    assert await version_of(member) == "prod"  # in EBU (zzebu), the default organisation
    switched = await member.get("/plugIt/ebuio_setOrga?pk=-2")  # RTS, chrts
    assert switched.status_code == 302
    assert await version_of(member) == "dev"
    anonymous = await proxy.as_user("ano")
    await anonymous.get("/plugIt/ebuio_setOrga?pk=-2")
    assert await version_of(anonymous) == "prod"  # rules other than percent need a user


async def test_admins_rule_and_the_badge_only_administrators_see(routed: Routed) -> None:
    proxy = await routed("dev=admins")
    admin, member = await proxy.as_user("adm"), await proxy.as_user("mem")
    admin_page, member_page = (
        (await admin.get("/plugIt/")).text,
        (await member.get("/plugIt/")).text,
    )
    assert version_in(admin_page) == "dev"
    assert version_in(member_page) == "prod"
    badge = BADGE.search(admin_page)
    assert badge is not None
    assert badge.group(1) == "dev"
    assert "plugit-version" not in member_page


async def test_badge_never_shown_to_others_on_a_version(routed: Routed) -> None:
    proxy = await routed("dev=members")
    admin, member = await proxy.as_user("adm"), await proxy.as_user("mem")
    member_page = (await member.get("/plugIt/")).text
    assert version_in(member_page) == "dev"
    assert "plugit-version" not in member_page  # a member on dev is not told so
    assert BADGE.search((await admin.get("/plugIt/")).text) is not None
    # Production is not badged, even for administrators.
    proxy = await routed("dev=users:nobody")
    admin = await proxy.as_user("adm")
    assert "plugit-version" not in (await admin.get("/plugIt/")).text


@pytest.mark.parametrize("layout", ["modern", "legacy"])
async def test_opt_in_switch_in_the_user_menu(routed: Routed, layout: str) -> None:
    proxy = await routed("dev=opt-in", layout=layout)
    member = await proxy.as_user("mem")
    page = (await member.get("/plugIt/cached?x=1")).text
    assert version_in(page) == "prod"
    await _switch(member, page, "Try dev")
    assert await version_of(member, "/plugIt/cached?x=1") == "dev"
    assert await version_of(member) == "dev"  # every page, remembered in the session
    page = (await member.get("/plugIt/")).text
    await _switch(member, page, "Leave dev")
    assert await version_of(member) == "prod"


async def _switch(client: httpx.AsyncClient, page: str, label: str) -> None:
    """Press the header's version button labelled `label`, as a browser submits the form."""
    form = SWITCH_FORM.search(page)
    assert form is not None, page
    button = re.search(r'name="version" value="([^"]*)"[^>]*>' + label, form.group(0))
    assert button is not None, form.group(0)
    token = TOKEN.search(form.group(0))
    assert token is not None
    action = re.search(r'action="([^"]+)"', form.group(0))
    assert action is not None
    answer = await client.post(
        action.group(1),
        data={
            "csrfmiddlewaretoken": token.group(1),
            "next": "/plugIt/",
            "version": button.group(1),
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/plugIt/"


async def test_opt_in_not_offered_to_those_not_allowed(routed: Routed) -> None:
    proxy = await routed("dev=opt-in")
    for mode in ("ano", "log"):  # anonymous, and signed in without being a member
        client = await proxy.as_user(mode)
        page = (await client.get("/plugIt/")).text
        assert "plugit-version-switch" not in page
        token = TOKEN.search(page)
        data = {"version": "dev", "csrfmiddlewaretoken": token.group(1) if token else ""}
        refused = await client.post("/plugIt/ebuio_setVersion", data=data)
        assert refused.status_code == 403
        assert await version_of(client) == "prod"


async def test_opt_in_switch_needs_the_csrf_token(routed: Routed) -> None:
    proxy = await routed("dev=opt-in")
    member = await proxy.as_user("mem")
    await member.get("/plugIt/")
    refused = await member.post("/plugIt/ebuio_setVersion", data={"version": "dev"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert await version_of(member) == "prod"


async def test_caches_are_kept_apart_per_version(routed: Routed) -> None:
    proxy = await routed("dev=users:logged")
    logged, member = await proxy.as_user("log"), await proxy.as_user("mem")
    # A shared page (cache_by_user false): dev's cached render never reaches production.
    assert await version_of(logged, "/plugIt/cached") == "dev"
    assert await version_of(member, "/plugIt/cached") == "prod"
    assert await version_of(logged, "/plugIt/cached") == "dev"
    assert await version_of(member, "/plugIt/cached") == "prod"


async def test_percent_splits_anonymous_visitors_sticky_per_browser(routed: Routed) -> None:
    proxy = await routed("dev=percent:50")
    seen = []
    for _ in range(12):
        visitor = await proxy.as_user("ano")
        side = await version_of(visitor)
        assert all([await version_of(visitor) == side for _ in range(3)])
        seen.append(side)
    assert set(seen) == {"dev", "prod"}  # 12 coins all alike: 1 in 2,048


def test_rules_name_their_flag_and_the_accepted_forms() -> None:
    from plugit.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"--route.*'users:' names no one"):
        parse_route("dev=users:", where="--route")
    with pytest.raises(ConfigurationError, match=r"percent:N \(e\.g\. percent:30\)"):
        parse_route("dev=percent:101", where="--route")
    with pytest.raises(ConfigurationError, match=r"users:NAME,NAME \| orgas:CODOPS,CODOPS"):
        parse_route("dev=everyone", where="--route")
    assert parse_route("dev=orgas: chrts , gbbbc", where="x") == RouteRule(
        version="dev", kind="orgas", values=("chrts", "gbbbc")
    )


def test_a_project_refuses_a_rule_to_a_missing_or_shadow_version(tmp_path: Path) -> None:
    from plugit.exceptions import ConfigurationError
    from plugit_proxy.config import Project

    base = {"key": "p", "name": "P", "mount": "/plugIt/", "service_urls": ("http://a",)}
    with pytest.raises(ConfigurationError, match="'dev', which has no instances"):
        Project(**base, rules=(RouteRule(version="dev", kind="admins"),))  # type: ignore[arg-type]
    shadow = ServiceVersion(name="dev", service_urls=("http://b",), shadow=True)
    with pytest.raises(ConfigurationError, match="shadow version"):
        Project(**base, versions=(shadow,), rules=(RouteRule(version="dev", kind="admins"),))  # type: ignore[arg-type]

"""One table of page-rule cases, checked against the proxy and against the test kit.

Each case says what a page's meta is, who asks (user, organisation, organisation mode,
address), with which method, and what the service's action answers (status, headers, body);
and what must come of it: the browser's status, the refusing rule, where the proxy's
`ebuio_*` parameters arrive and what they are, the redirect. One real SDK service on a real
socket has one action per case. The same table runs through a live `plugit proxy` (uvicorn
on a socket, a browser-like client) and through `plugit.testing.ServiceClient`: the proxy and
the kit apply `plugit.pagerules`, and this table keeps them from ever drifting apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from plugit import Service
from plugit.exceptions import ConfigurationError
from plugit.protocol import (
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_SET_SESSION_PREFIX,
    RESERVED_PARAM_PREFIX,
    session_header,
)
from plugit.settings import Settings
from plugit.simulation import ORGAS_BY_PK, USERS_BY_MODE
from plugit.testing import LiveServer, ServiceClient
from plugit.utils import (
    address_in_networks,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    user_info,
    xml_only,
)
from plugit_proxy.asgi import build_application

from .conftest import fresh_cache, make_config
from .services import raw_service

MOUNT = "/plugIt/"
JSON = {"content-type": "application/json"}
OK = (200, JSON, b'{"ok": true}')
NETS = ["10.0.0.0/8", "fd00::/8"]
FIELDS = ["username", "ebuio_admin", "pk"]
CSRF = "c" * 32  # a CSRF secret; the unmasked secret is a valid token, as in Django


@dataclasses.dataclass(frozen=True, kw_only=True)
class Case:
    """One request and what the page rules must make of it."""

    name: str
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    user: str = "ano"  # ano, log, mem, adm
    orga: int | None = -1  # the current organisation (None: none chosen)
    orga_mode: bool = True
    method: str = "GET"
    address: str = "127.0.0.1"
    answer: tuple[int, dict[str, str], bytes] = OK  # the action's status, headers, body
    template: bool = True  # the action has a template (pages and bare pages only)
    # What must come of it.
    status: int = 200
    rule: str | None = None  # the refusing rule (403, nothing called)
    config_error: bool = False  # a user_info field outside the allow-list
    where: str | None = "query"  # where the proxy's parameters arrive; None: not called
    sent: dict[str, str] = dataclasses.field(default_factory=lambda: {"ebuio_orgapk": "-1"})
    redirect: tuple[str, bool] | None = None  # the service's target and NoPrefix
    content: bytes | None = None  # the browser's body, when it matters


def refused(name: str, rule: str, **fields: Any) -> Case:
    return Case(name=name, status=403, rule=rule, where=None, sent={}, **fields)


def status(service: int, browser: int, **headers: str) -> Case:
    answer = (service, {**JSON, **headers}, b"{}")
    return Case(name=f"status_{service}", meta={"json_only": True}, answer=answer, status=browser)


def user_fields(name: str, method: str, where: str, user: str = "mem") -> Case:
    sent = {"ebuio_u_username": "member", "ebuio_u_ebuio_admin": "False", "ebuio_u_pk": "-2"}
    meta = {"json_only": True, "user_info": FIELDS}
    return Case(
        name=name, meta=meta, user=user, method=method, where=where,
        sent={**sent, "ebuio_orgapk": "-1"},
    )  # fmt: skip


ADMIN_FIELDS = {"ebuio_u_username": "admin", "ebuio_u_ebuio_admin": "True", "ebuio_u_pk": "-3"}
ANONYMOUS_FIELDS = {"ebuio_u_username": "", "ebuio_u_ebuio_admin": "False", "ebuio_u_pk": ""}

CASES = [
    # -- Access rules (§4 step 2) --------------------------------------------------------------
    Case(name="plain"),
    refused("logged_anonymous", "only_logged_user", meta={"only_logged_user": True}),
    Case(name="logged_logged", meta={"only_logged_user": True}, user="log"),
    refused("member_logged", "only_member_user", meta={"only_member_user": True}, user="log"),
    Case(name="member_member", meta={"only_member_user": True}, user="mem"),
    refused("admin_member", "only_admin_user", meta={"only_admin_user": True}, user="mem"),
    Case(name="admin_admin", meta={"only_admin_user": True}, user="adm"),
    Case(name="orgamember_member", meta={"only_orga_member_user": True}, user="mem"),
    refused(
        "orgamember_logged",
        "only_orga_member_user",
        meta={"only_orga_member_user": True},
        user="log",
    ),
    refused(
        "orgamember_outside_orga_mode",
        "only_orga_member_user",
        meta={"only_orga_member_user": True},
        user="adm",
        orga_mode=False,
    ),
    refused(
        "orgamember_without_orga",
        "only_orga_member_user",
        meta={"only_orga_member_user": True},
        user="adm",
        orga=None,
    ),
    refused(
        "orgaadmin_member",
        "only_orga_admin_user",
        meta={"only_orga_admin_user": True},
        user="mem",
    ),
    Case(
        name="orgaadmin_admin",
        meta={"only_orga_admin_user": True},
        user="adm",
        orga=-2,
        sent={"ebuio_orgapk": "-2"},
    ),
    refused("no_organisation", "organisation", user="log", orga=None),
    Case(name="no_organisation_public", meta={"public": True}, user="log", orga=None, sent={}),
    Case(name="no_organisation_outside_orga_mode", orga=None, orga_mode=False, sent={}),
    Case(name="outside_orga_mode", orga_mode=False, sent={}),
    Case(name="net_inside", meta={"address_in_networks": NETS}, address="10.1.2.3"),
    refused("net_outside", "address_in_networks", meta={"address_in_networks": NETS}),
    Case(name="net_ipv4_mapped", meta={"address_in_networks": NETS}, address="::ffff:10.1.2.3"),
    Case(name="net_ipv6", meta={"address_in_networks": NETS}, address="fd00::7"),
    refused(
        "net_ipv6_outside",
        "address_in_networks",
        meta={"address_in_networks": NETS},
        address="2001:db8::1",
    ),
    refused(
        "login_before_network",
        "only_logged_user",
        meta={"only_logged_user": True, "address_in_networks": NETS},
    ),
    # -- The proxy's parameters and their placement (§3) ---------------------------------------
    Case(
        name="user_fields_admin",
        meta={"json_only": True, "user_info": FIELDS},
        user="adm",
        sent={**ADMIN_FIELDS, "ebuio_orgapk": "-1"},
    ),
    Case(
        name="user_fields_anonymous",
        meta={"json_only": True, "user_info": FIELDS},
        sent={**ANONYMOUS_FIELDS, "ebuio_orgapk": "-1"},
    ),
    user_fields("user_fields_get", "GET", "query"),
    user_fields("user_fields_post", "POST", "form"),
    user_fields("user_fields_put", "PUT", "query"),
    user_fields("user_fields_patch", "PATCH", "query"),
    user_fields("user_fields_delete", "DELETE", "query"),
    Case(
        name="user_field_not_allowed",
        meta={"json_only": True, "user_info": ["password"]},
        status=500,
        config_error=True,
        where=None,
        sent={},
    ),
    Case(
        name="orga_flag_in_orga",
        meta={"json_only": True, "user_info": ["ebuio_orga_member"]},
        user="mem",
        orga=-2,
        sent={"ebuio_u_ebuio_orga_member": "True", "ebuio_orgapk": "-2"},
    ),
    Case(
        name="orga_flag_outside_orga_mode",
        meta={"json_only": True, "user_info": ["ebuio_orga_member"]},
        user="mem",
        orga_mode=False,
        sent={"ebuio_u_ebuio_orga_member": "False"},
    ),
    Case(
        name="orga_flag_without_orga",
        meta={"public": True, "user_info": ["ebuio_orga_member"]},
        user="mem",
        orga=None,
        sent={"ebuio_u_ebuio_orga_member": "False"},
    ),
    # -- The action's status (§4 step 4) -------------------------------------------------------
    status(500, 500),
    status(304, 304),
    status(401, 401),
    status(403, 403),
    status(404, 404),
    status(429, 429),
    status(400, 404),
    status(418, 404),
    status(201, 404),
    status(302, 404, location="https://example.org/"),
    status(502, 404),  # the service's own 502/503/504: "any other non-200"
    status(503, 404),
    status(504, 404),
    # -- The action's answer -------------------------------------------------------------------
    Case(
        name="redirect",
        answer=(200, {HEADER_REDIRECT: "public"}, b""),
        status=302,
        redirect=("public", False),
    ),
    Case(
        name="redirect_no_prefix",
        answer=(
            200,
            {HEADER_REDIRECT: "https://example.org/x", HEADER_REDIRECT_NO_PREFIX: "True"},
            b"",
        ),
        status=302,
        redirect=("https://example.org/x", True),
    ),
    Case(name="redirect_with_error", answer=(500, {HEADER_REDIRECT: "public"}, b""), status=500),
    Case(
        name="file",
        answer=(200, {HEADER_IS_FILE: "True", "content-type": "text/plain"}, b"the file"),
        content=b"the file",
    ),
    Case(
        name="file_any_value",
        answer=(200, {HEADER_IS_FILE: "False", "content-type": "text/plain"}, b"still a file"),
        content=b"still a file",
    ),
    Case(name="json", meta={"json_only": True}, answer=(200, JSON, b'{"a": 1}')),
    Case(name="json_empty", meta={"json_only": True}, answer=(200, {}, b"")),
    Case(name="json_not_json", meta={"json_only": True}, answer=(200, {}, b"oops"), status=502),
    Case(
        name="xml", meta={"xml_only": True}, answer=(200, JSON, b'{"xml": "<a/>"}'), content=b"<a/>"
    ),
    Case(name="xml_without_xml", meta={"xml_only": True}, status=502),
    Case(name="page_without_template", template=False, status=404),
    Case(name="bare_page", meta={"no_template": True}),
    Case(name="options", method="OPTIONS", content=b""),
    Case(
        name="set_session",
        meta={"json_only": True},
        answer=(200, {**JSON, HEADER_SET_SESSION_PREFIX + "color": "blue"}, b"{}"),
    ),
]

# -- The service: one action per case --------------------------------------------------------
_received: dict[str, dict[str, dict[str, list[str]]]] = {}
_lock = threading.Lock()

DECORATORS: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    "only_logged_user": lambda _: only_logged_user(),
    "only_member_user": lambda _: only_member_user(),
    "only_admin_user": lambda _: only_admin_user(),
    "only_orga_member_user": lambda _: only_orga_member_user(),
    "only_orga_admin_user": lambda _: only_orga_admin_user(),
    "public": lambda _: public(),
    "json_only": lambda _: json_only(),
    "xml_only": lambda _: xml_only(),
    "no_template": lambda _: no_template(),
    "user_info": lambda props: user_info(props=props),
    "address_in_networks": lambda networks: address_in_networks(networks=networks),
}


def add_action(service: Service, case: Case) -> None:
    def run(request: Any) -> Response:
        with _lock:
            _received[case.name] = {
                "query": request.args.to_dict(flat=False),
                "form": request.form.to_dict(flat=False),
                "session": {
                    "header": [request.headers.get(session_header("color"), "")],
                    "cookie": [request.cookies.get("color", "")],
                },
            }
        code, headers, body = case.answer
        return Response(body, status_code=code, headers=headers)

    for key, value in case.meta.items():
        run = DECORATORS[key](value)(run)
    renders = not (case.meta.get("json_only") or case.meta.get("xml_only"))
    template = "page.html" if renders and case.template else ""
    service.action(f"/c/{case.name}", template=template, methods=[case.method])(run)


@pytest.fixture(scope="module")
def table_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("table")
    (root / "templates").mkdir()
    (root / "templates" / "page.html").write_text("<p id='page'>page</p>")
    service = Service("table", root=Path(root), settings=Settings(meta_cache=300))
    for case in CASES:
        add_action(service, case)
    with LiveServer(service) as server:
        yield server


@pytest.fixture(scope="module")
def live_proxies(table_service: LiveServer) -> Iterator[dict[bool, str]]:
    """A live proxy in organisation mode and one without, both trusting X-Forwarded-For."""
    urls: dict[bool, str] = {}
    with contextlib.ExitStack() as stack:
        for orga_mode in (True, False):
            config = make_config(table_service.url, orga_mode=orga_mode, honor_x_forwarded_for=True)
            app = build_application(config, cache=fresh_cache())
            urls[orga_mode] = stack.enter_context(LiveServer(app)).url
        yield urls


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    _received.clear()


# -- Through the proxy and through the kit --------------------------------------------------
BROWSER_QUERY = {"q": "1", "ebuio_u_username": "evil", "ebuio_orgapk": "666"}
BROWSER_FORM = {"f": "1", "ebuio_x": "1"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


def browse(case: Case, url: str) -> httpx.Response:
    """Ask the live proxy for the case's page as that user, from that address."""
    with httpx.Client(base_url=url, timeout=10, follow_redirects=False) as browser:
        assert browser.get(f"{MOUNT}ebuio_setUser?mode={case.user}").status_code == 302
        if case.orga_mode:
            orga = "" if case.orga is None else str(case.orga)
            assert browser.get(f"{MOUNT}ebuio_setOrga?pk={orga}").status_code == 302
        browser.cookies.set("csrftoken", CSRF)
        headers = {"X-Forwarded-For": case.address, "X-CSRFToken": CSRF}
        form = BROWSER_FORM if case.method in BODY_METHODS else None
        return browser.request(
            case.method, f"{MOUNT}c/{case.name}", params=BROWSER_QUERY, data=form,
            headers=headers,
        )  # fmt: skip


def check_received(case: Case) -> None:
    """The service got the browser's parameters without ebuio_*, and the proxy's where due."""
    if case.where is None:
        assert case.name not in _received, "the action must not be called"
        return
    got = _received[case.name]
    for place in ("query", "form"):
        ours = {k: v for k, v in got[place].items() if k.startswith(RESERVED_PARAM_PREFIX)}
        expected = {k: [v] for k, v in case.sent.items()} if place == case.where else {}
        assert ours == expected, place
    assert got["query"]["q"] == ["1"]
    if case.method in BODY_METHODS:
        assert got["form"]["f"] == ["1"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_proxy(case: Case, live_proxies: dict[bool, str]) -> None:
    response = browse(case, live_proxies[case.orga_mode])

    assert response.status_code == case.status, response.text[:500]
    if case.rule is not None:
        assert f"rule: {case.rule}" in response.text
    if case.config_error:
        assert "Configuration error" in response.text
    if case.redirect is not None:
        target, no_prefix = case.redirect
        assert response.headers["location"] == (target if no_prefix else MOUNT + target)
    if case.content is not None:
        assert response.content == case.content
    check_received(case)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_kit(case: Case, table_service: LiveServer) -> None:
    options: dict[str, Any] = {
        "user": USERS_BY_MODE[case.user],
        "orga": None if case.orga is None else ORGAS_BY_PK[case.orga],
        "orga_mode": case.orga_mode,
        "remote_addr": case.address,
        "query": BROWSER_QUERY,
    }
    if case.method in BODY_METHODS:
        options["data"] = BROWSER_FORM
    with ServiceClient.at(table_service.url) as kit:
        if case.config_error:
            with pytest.raises(ConfigurationError, match="password"):
                kit.request(case.method, f"/c/{case.name}", **options)
            check_received(case)
            return
        page = kit.request(case.method, f"/c/{case.name}", **options)

    assert page.status_code == case.status
    assert page.denied_by == case.rule
    assert page.meta is not None
    assert {k: v for k, v in page.meta.items() if k != "template_tag"} == case.meta
    if case.redirect is not None:
        assert (page.redirect, page.redirect_no_prefix) == case.redirect
    if case.content is not None and page.is_file:
        assert page.content == case.content
    check_received(case)


def test_session_values_come_back_alike(
    live_proxies: dict[bool, str], table_service: LiveServer
) -> None:
    """What `set_session` stores, the next action call carries, through the proxy and the kit."""
    with httpx.Client(base_url=live_proxies[True], timeout=10) as browser:
        assert browser.get(f"{MOUNT}c/set_session").status_code == 200
        assert browser.get(f"{MOUNT}c/plain").status_code == 200
    through_proxy = _received["plain"]["session"]
    with ServiceClient.at(table_service.url) as kit:
        stored = kit.get("/c/set_session").session
        kit.get("/c/plain", session=stored)
    assert stored == {"color": "blue"}
    assert (
        _received["plain"]["session"] == through_proxy == {"header": ["blue"], "cookie": ["blue"]}
    )


@pytest.mark.parametrize(
    ("body", "code", "expected"),
    [(b"{not json", 200, 502), (b'{"x": 1}', 200, 502), (b"oops", 503, 502), (b"{}", 404, 404)],
)
def test_broken_meta_alike(body: bytes, code: int, expected: int) -> None:
    """A meta call that says 4xx is "no such page"; any other failure is the proxy's 502."""
    with LiveServer(raw_service(body, status=code)) as service:
        app = build_application(make_config(service.url), cache=fresh_cache())
        with LiveServer(app) as proxy:
            assert httpx.get(f"{proxy.url}{MOUNT}somewhere", timeout=10).status_code == expected
        with ServiceClient.at(service.url) as kit:
            assert kit.get("/somewhere").status_code == expected

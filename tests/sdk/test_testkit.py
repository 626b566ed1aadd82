"""`plugit.testing`: calling a real `plugit.Service` the way a proxy does, without a proxy.

The actions below use every decorator of `plugit.utils`. Each rule of docs/protocol.md §3-4 the
kit applies is tested in-process; the main flows are run again against a `LiveServer` (a real
socket), with both the blocking and the async client.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from plugit import Request, Service, Settings
from plugit.exceptions import ConfigurationError
from plugit.settings import parse_networks
from plugit.simulation import ADMIN, ANONYMOUS, BBC, EBU, LOGGED, MEMBER, RTS, SimulatedUser
from plugit.testing import AsyncServiceClient, LiveServer, Page, ServiceClient
from plugit.utils import (
    PlugItRedirect,
    PlugItSendFile,
    PlugItSetSession,
    abort,
    action,
    address_in_networks,
    cache,
    crossdomain,
    get_session_from_request,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    send_etag,
    user_info,
    xml_only,
)

SHOW_TEMPLATE = "<h1>Poll {{ poll }}</h1>\n"
REPORT = Path(__file__).read_bytes()

# Every action appends its name here, so a test can tell whether it ran.
calls: list[str] = []
# The service's template folder (set when the service is built).
TEMPLATES = Path()


def _seen(request: Request, name: str) -> dict[str, Any]:
    """What an action saw of the proxy's call."""
    calls.append(name)
    return {
        "method": request.method,
        "args": request.args.to_dict(flat=False),
        "form": request.form.to_dict(flat=False),
        "files": {
            key: [request.files[key].filename, request.files[key].read().decode()]
            for key in request.files
        },
        "remote_addr": request.headers.get("x-plugit-remote-addr"),
        "origin": request.headers.get("x-plugit-origin"),
        "custom": request.headers.get("x-custom"),
        "session": get_session_from_request(request),
        "cookies": dict(request.cookies),
    }


# -- The service -------------------------------------------------------------------------------
@action(route="/", template="home.html")
def home(request: Request) -> dict[str, Any]:
    return {"page": "home", **_seen(request, "home")}


@action(route="/show/<int:pollId>", template="show.html", methods=["GET", "POST"])
@user_info(props=["username", "pk", "ebuio_member", "ebuio_orga_admin"])
def show(request: Request, pollId: int) -> dict[str, Any]:
    return {"poll": pollId, **_seen(request, "show")}


@action(route="/echo", methods=["GET", "POST", "PUT", "DELETE"])
@json_only()
def echo(request: Request) -> dict[str, Any]:
    return _seen(request, "echo")


@action(route="/logged")
@json_only()  # no template: a page would be a 404
@only_logged_user()
def logged(request: Request) -> dict[str, Any]:
    return _seen(request, "logged")


@action(route="/member")
@json_only()  # no template: a page would be a 404
@only_member_user()
def member(request: Request) -> dict[str, Any]:
    return _seen(request, "member")


@action(route="/admin")
@json_only()  # no template: a page would be a 404
@only_admin_user()
def admin(request: Request) -> dict[str, Any]:
    return _seen(request, "admin")


@action(route="/orga_member")
@json_only()  # no template: a page would be a 404
@only_orga_member_user()
def orga_member(request: Request) -> dict[str, Any]:
    return _seen(request, "orga_member")


@action(route="/orga_admin")
@json_only()  # no template: a page would be a 404
@only_orga_admin_user()
def orga_admin(request: Request) -> dict[str, Any]:
    return _seen(request, "orga_admin")


@action(route="/public")
@json_only()  # no template: a page would be a 404
@public()
def public_page(request: Request) -> dict[str, Any]:
    return _seen(request, "public")


@action(route="/intranet")
@json_only()  # no template: a page would be a 404
@address_in_networks(networks=["10.0.0.0/8", "2001:db8::/32"])
def intranet(request: Request) -> dict[str, Any]:
    return _seen(request, "intranet")


@action(route="/cached", template="show.html")
@cache(time=60, byUser=True)
@no_template()
def cached(request: Request) -> dict[str, Any]:
    return {"poll": "cached"}


@action(route="/feed")
@xml_only()
def feed(request: Request) -> dict[str, Any]:
    return {"xml": "<feed/>"}


@action(route="/etag")
@send_etag()
def etag(request: Request) -> dict[str, Any]:
    return {"value": 1, "_plugit_etag": '"v1"'}


@action(route="/cors")
@crossdomain(origin="https://example.org")
def cors(request: Request) -> dict[str, Any]:
    return {"cors": True}


@action(route="/go")
def go(request: Request) -> PlugItRedirect:
    return PlugItRedirect("/show/1")


@action(route="/go_away")
def go_away(request: Request) -> PlugItRedirect:
    return PlugItRedirect("https://example.org/", no_prefix=True)


@action(route="/report")
def report(request: Request) -> PlugItSendFile:
    return PlugItSendFile(__file__, "text/csv", as_attachment=True, attachment_filename="r.csv")


@action(route="/remember", methods=["POST"])
@json_only()
def remember(request: Request) -> PlugItSetSession:
    return PlugItSetSession({"stored": True}, {"theme": request.form.get("theme", "dark")})


@action(route="/abort/<int:status>")
def aborting(request: Request, status: int) -> None:
    abort(status)


@action(route="/boom")
def boom(request: Request) -> None:
    raise RuntimeError("the action is broken")


@action(route="/odd")
def odd(request: Request) -> Any:
    from starlette.responses import Response

    return Response("teapot", 418)


@action(route="/lost", template="missing.html")
def lost(request: Request) -> dict[str, Any]:
    return {}


@action(route="/vanishing/<name>", template="vanishing.html")
def vanishing(request: Request, name: str) -> dict[str, Any]:
    # The template disappears between the meta and the template call (say, a deploy).
    (TEMPLATES / "vanishing.html").unlink()
    return {"name": name}


@action(route="/lost_json", template="vanishing.html")
@json_only()
def lost_json(request: Request) -> dict[str, Any]:
    (TEMPLATES / "vanishing.html").unlink()
    return {"fine": True}


@action(route="/greedy")
@json_only()  # no template: a page would be a 404
@user_info(props=["username", "password"])
def greedy(request: Request) -> dict[str, Any]:
    return _seen(request, "greedy")


def build_service(root: Path) -> Service:
    """A service with the actions above and their templates."""
    global TEMPLATES
    TEMPLATES = root / "templates"
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    (root / "templates" / "home.html").write_text("<p>home</p>\n", encoding="utf-8")
    (root / "templates" / "show.html").write_text(SHOW_TEMPLATE, encoding="utf-8")
    service = Service("testkit", root=root, settings=Settings(debug=True))
    service.add_module(sys.modules[__name__])
    return service


# -- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return build_service(tmp_path_factory.mktemp("testkit"))


@pytest.fixture(scope="module")
def live(service: Service) -> Iterator[LiveServer]:
    with LiveServer(service) as server:
        yield server


@pytest.fixture
def kit(service: Service) -> Iterator[ServiceClient]:
    """The blocking client, in-process."""
    with ServiceClient(service) as client:
        yield client


@pytest.fixture(params=["in-process", "live"])
def any_kit(request: pytest.FixtureRequest, service: Service) -> Iterator[ServiceClient]:
    """The blocking client, in-process and against a live server."""
    if request.param == "live":
        server = request.getfixturevalue("live")
        client = ServiceClient.at(server.url + "/")
    else:
        client = ServiceClient(service)
    with client:
        yield client


@pytest.fixture(params=["in-process", "live"])
async def async_kit(
    request: pytest.FixtureRequest, service: Service
) -> AsyncIterator[AsyncServiceClient]:
    """The async client, in-process and against a live server."""
    if request.param == "live":
        server = request.getfixturevalue("live")
        client = AsyncServiceClient.at(server.url)
    else:
        client = AsyncServiceClient(service)
    async with client:
        yield client


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    calls.clear()


# -- Main flows, in-process and over a socket --------------------------------------------------
def test_page_with_template(any_kit: ServiceClient) -> None:
    page = any_kit.get("/show/3", user=MEMBER)

    assert page.status_code == 200
    assert page.data["poll"] == 3
    assert page.template == SHOW_TEMPLATE
    assert page.meta is not None
    assert page.meta["user_info"] == ["username", "pk", "ebuio_member", "ebuio_orga_admin"]
    assert page.meta["template_tag"]
    assert page.denied_by is None
    assert page.called


def test_user_fields_and_orga_go_in_the_query_on_get(any_kit: ServiceClient) -> None:
    page = any_kit.get("/show/3", user=ADMIN, orga=RTS, query={"a": "1"})

    assert page.data["args"] == {
        "a": ["1"],
        "ebuio_u_username": ["admin"],
        "ebuio_u_pk": ["-3"],
        "ebuio_u_ebuio_member": ["True"],
        "ebuio_u_ebuio_orga_admin": ["True"],
        "ebuio_orgapk": ["-2"],
    }
    assert page.data["form"] == {}
    assert page.sent_params["ebuio_u_username"] == "admin"
    assert page.sent_params["ebuio_orgapk"] == "-2"


def test_user_fields_and_orga_go_in_the_form_on_post(any_kit: ServiceClient) -> None:
    page = any_kit.post("/show/3", data={"choice": "2"}, query={"q": "x"}, user=MEMBER)

    assert page.data["method"] == "POST"
    assert page.data["args"] == {"q": ["x"]}
    assert page.data["form"] == {
        "choice": ["2"],
        "ebuio_u_username": ["member"],
        "ebuio_u_pk": ["-2"],
        "ebuio_u_ebuio_member": ["True"],
        "ebuio_u_ebuio_orga_admin": ["False"],
        "ebuio_orgapk": ["-1"],
    }
    assert page.sent_params.getlist("choice") == ["2"]
    assert page.sent_params["q"] == "x"


def test_access_rule_refuses_without_calling(any_kit: ServiceClient) -> None:
    page = any_kit.get("/admin", user=MEMBER)

    assert page.status_code == 403
    assert page.denied_by == "only_admin_user"
    assert not page.called
    assert calls == []
    assert any_kit.get("/admin", user=ADMIN).status_code == 200
    assert calls == ["admin"]


def test_unknown_route_is_404(any_kit: ServiceClient) -> None:
    page = any_kit.get("/nowhere")

    assert page.status_code == 404
    assert page.meta is None
    assert page.data is None
    assert not page.called


def test_session_headers_and_cookies(any_kit: ServiceClient) -> None:
    page = any_kit.get("/echo", session={"theme": "light", "lang": "fr en"})

    assert page.data["session"] == {"theme": "light", "lang": "fr en"}
    assert page.data["cookies"] == {"theme": "light", "lang": "fr en"}


def test_set_session(any_kit: ServiceClient) -> None:
    page = any_kit.post("/remember", data={"theme": "blue"})

    assert page.status_code == 200
    assert page.data == {"stored": True}
    assert page.session == {"theme": "blue"}


def test_redirect_and_file(any_kit: ServiceClient) -> None:
    moved = any_kit.get("/go")
    sent = any_kit.get("/report")

    assert moved.status_code == 302
    assert moved.redirect == "/show/1"
    assert moved.redirect_no_prefix is False
    assert sent.is_file
    assert sent.content == REPORT
    assert sent.headers["content-type"].startswith("text/csv")
    assert sent.headers["content-disposition"] == 'attachment; filename="r.csv"'


async def test_async_main_flows(async_kit: AsyncServiceClient) -> None:
    shown = await async_kit.get("/show/5", user=LOGGED, query={"x": "y"})
    posted = await async_kit.post("/show/5", user=LOGGED, data={"choice": ["1", "2"]})
    refused = await async_kit.get("/member", user=LOGGED)
    missing = await async_kit.request("GET", "/nowhere")

    assert shown.status_code == 200
    assert shown.template == SHOW_TEMPLATE
    assert shown.data["args"]["ebuio_u_username"] == ["logged"]
    assert shown.data["args"]["x"] == ["y"]
    assert posted.data["form"]["choice"] == ["1", "2"]
    assert posted.data["form"]["ebuio_u_ebuio_member"] == ["False"]
    assert (refused.status_code, refused.denied_by) == (403, "only_member_user")
    assert missing.status_code == 404
    assert calls == ["show", "show"]


async def test_async_client_has_the_same_pages(
    async_kit: AsyncServiceClient, kit: ServiceClient
) -> None:
    for path in ("/go_away", "/feed", "/etag", "/abort/429", "/boom", "/intranet"):
        expected, page = kit.get(path), await async_kit.get(path)
        assert (page.status_code, page.denied_by, page.redirect, page.data, page.etag) == (
            expected.status_code,
            expected.denied_by,
            expected.redirect,
            expected.data,
            expected.etag,
        ), path


# -- Access rules ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "user", "allowed"),
    [
        ("/logged", ANONYMOUS, False),
        ("/logged", LOGGED, True),
        ("/member", LOGGED, False),
        ("/member", MEMBER, True),
        ("/member", ADMIN, True),
        ("/admin", ANONYMOUS, False),
        ("/admin", MEMBER, False),
        ("/admin", ADMIN, True),
        ("/orga_member", LOGGED, False),
        ("/orga_member", MEMBER, True),
        ("/orga_admin", MEMBER, False),
        ("/orga_admin", ADMIN, True),
    ],
)
def test_access_rules(kit: ServiceClient, path: str, user: SimulatedUser, allowed: bool) -> None:
    page = kit.get(path, user=user)

    rule = "only" + path.replace("/", "_") + "_user"
    assert page.status_code == (200 if allowed else 403)
    assert page.denied_by == (None if allowed else rule)
    assert calls == ([path.strip("/")] if allowed else [])


def test_orga_rules_outside_organisation_mode(kit: ServiceClient) -> None:
    assert kit.get("/orga_member", user=ADMIN, orga_mode=False).denied_by == (
        "only_orga_member_user"
    )
    assert kit.get("/orga_admin", user=ADMIN, orga_mode=False).denied_by == "only_orga_admin_user"
    assert kit.get("/member", user=MEMBER, orga_mode=False).status_code == 200


def test_organisation_mode_needs_an_organisation(kit: ServiceClient) -> None:
    page = kit.get("/echo", orga=None)

    assert page.status_code == 403
    assert page.denied_by == "organisation"
    assert calls == []


def test_public_page_needs_no_organisation(kit: ServiceClient) -> None:
    page = kit.get("/public", orga=None)

    assert page.status_code == 200
    assert "ebuio_orgapk" not in page.data["args"]


def test_without_organisation_mode_no_orga_is_sent(kit: ServiceClient) -> None:
    page = kit.get("/echo", orga_mode=False, orga=BBC)

    assert page.status_code == 200
    assert "ebuio_orgapk" not in page.sent_params


def test_orga_member_in_orga_mode_without_orga(kit: ServiceClient) -> None:
    assert kit.get("/orga_member", user=ADMIN, orga=None).denied_by == "only_orga_member_user"


@pytest.mark.parametrize(
    ("remote_addr", "allowed"),
    [
        ("10.1.2.3", True),
        ("2001:db8::7", True),
        ("127.0.0.1", False),
        ("192.168.1.1", False),
        ("not an address", False),
    ],
)
def test_address_in_networks(kit: ServiceClient, remote_addr: str, allowed: bool) -> None:
    page = kit.get("/intranet", remote_addr=remote_addr)

    assert page.status_code == (200 if allowed else 403)
    assert page.denied_by == (None if allowed else "address_in_networks")
    if allowed:
        assert page.data["remote_addr"] == remote_addr


def test_client_defaults_apply_to_every_call(service: Service) -> None:
    with ServiceClient(service, user=ADMIN, orga=RTS, remote_addr="10.0.0.1") as client:
        page = client.get("/show/1")
        assert client.get("/intranet").status_code == 200
        assert client.get("/admin", user=LOGGED).denied_by == "only_admin_user"

    assert page.data["args"]["ebuio_u_username"] == ["admin"]
    assert page.data["args"]["ebuio_orgapk"] == ["-2"]
    assert page.data["remote_addr"] == "10.0.0.1"


# -- Parameters, headers and the user_info allow-list ---------------------------------------------
def test_caller_cannot_set_ebuio_parameters(kit: ServiceClient) -> None:
    page = kit.post(
        "/show/1?ebuio_u_username=mallory&x=1",
        query={"ebuio_orgapk": "666", "y": "2"},
        data={"ebuio_u_ebuio_admin": "True", "ebuio_anything": "1", "z": "3"},
        files={"ebuio_file": ("evil.txt", b"evil", "text/plain")},
        user=LOGGED,
    )

    assert page.data["args"] == {"x": ["1"], "y": ["2"]}
    assert page.data["form"]["ebuio_u_username"] == ["logged"]
    assert page.data["form"]["ebuio_orgapk"] == ["-1"]
    assert "ebuio_u_ebuio_admin" not in page.data["form"]
    assert "ebuio_anything" not in page.data["form"]
    assert page.data["files"] == {}


def test_anonymous_user_gets_empty_user_fields(kit: ServiceClient) -> None:
    page = kit.get("/show/1")

    # As the proxy does (docs/protocol.md §3: one parameter per asked field): empty, or False.
    assert page.data["args"] == {
        "ebuio_u_username": [""],
        "ebuio_u_pk": [""],
        "ebuio_u_ebuio_member": ["False"],
        "ebuio_u_ebuio_orga_admin": ["False"],
        "ebuio_orgapk": ["-1"],
    }


def test_user_field_outside_the_allow_list_is_a_configuration_error(kit: ServiceClient) -> None:
    with pytest.raises(ConfigurationError, match="'password'") as raised:
        kit.get("/greedy", user=ADMIN)
    assert "/greedy" in str(raised.value)
    assert calls == []


def test_allow_list_can_be_narrowed_like_the_proxy(service: Service) -> None:
    with (
        ServiceClient(service, user_fields=("username",)) as client,
        pytest.raises(ConfigurationError, match="'pk'"),
    ):
        client.get("/show/1", user=MEMBER)


def test_allow_list_can_be_widened(service: Service) -> None:
    fields = ("username", "password")
    with ServiceClient(service, user_fields=fields) as client:
        page = client.get("/greedy", user=MEMBER)
    # The simulated users have no password: an allowed field the user lacks is sent empty.
    assert page.data["args"] == {
        "ebuio_u_username": ["member"],
        "ebuio_u_password": [""],
        "ebuio_orgapk": ["-1"],
    }


def test_files_are_uploaded(kit: ServiceClient) -> None:
    page = kit.post(
        "/echo",
        data={"title": "doc"},
        files={"doc": ("a.txt", b"hello", "text/plain")},
        user=LOGGED,
    )

    assert page.data["files"] == {"doc": ["a.txt", "hello"]}
    assert page.data["form"]["title"] == ["doc"]


def test_other_methods_put_proxy_parameters_in_the_query(kit: ServiceClient) -> None:
    page = kit.request("PUT", "/echo", data={"name": "x"}, orga=EBU)

    assert page.data["method"] == "PUT"
    assert page.data["args"] == {"ebuio_orgapk": ["-1"]}
    assert page.data["form"] == {"name": ["x"]}
    assert kit.request("DELETE", "/echo").data["method"] == "DELETE"


def test_remote_address_header(kit: ServiceClient) -> None:
    assert kit.get("/echo").data["remote_addr"] == "127.0.0.1"
    assert kit.get("/echo", remote_addr="203.0.113.9").data["remote_addr"] == "203.0.113.9"
    assert kit.get("/echo").sent_headers["X-Plugit-Remote-Addr"] == "127.0.0.1"


def test_browser_headers_are_forwarded_as_the_proxy_does(kit: ServiceClient) -> None:
    page = kit.get(
        "/echo",
        headers={
            "Origin": "https://example.org",
            "X-Custom": "kept",
            "X-Plugit-Remote-Addr": "6.6.6.6",
            "X-Plugitsession-theme": "forged",
        },
    )

    assert page.data["origin"] == "https://example.org"
    assert page.data["custom"] is None  # only the headers docs/protocol.md §3 lists go through
    assert page.data["remote_addr"] == "127.0.0.1"
    assert page.data["session"] == {}


# -- Answers ---------------------------------------------------------------------------------------
def test_json_only_page_has_no_template(kit: ServiceClient) -> None:
    page = kit.get("/echo")

    assert page.status_code == 200
    assert page.template is None
    assert page.meta == {"template_tag": "", "json_only": True}


def test_meta_of_cache_and_no_template(kit: ServiceClient) -> None:
    page = kit.get("/cached")

    assert page.meta is not None
    assert page.meta["cache_time"] == 60
    assert page.meta["cache_by_user"] is True
    assert page.meta["no_template"] is True
    assert page.template == SHOW_TEMPLATE


def test_xml_only(kit: ServiceClient) -> None:
    page = kit.get("/feed")

    assert page.meta is not None
    assert page.meta["xml_only"] is True
    assert page.data == {"xml": "<feed/>"}


def test_etag(kit: ServiceClient) -> None:
    page = kit.get("/etag")

    assert page.etag == '"v1"'
    assert page.data == {"value": 1}


def test_crossdomain(kit: ServiceClient) -> None:
    page = kit.get("/cors")
    preflight = kit.request("OPTIONS", "/cors")

    assert page.headers["access-control-allow-origin"] == "https://example.org"
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-methods"] == "GET, OPTIONS"


def test_redirect_without_prefix(kit: ServiceClient) -> None:
    page = kit.get("/go_away")

    assert page.status_code == 302
    assert page.redirect == "https://example.org/"
    assert page.redirect_no_prefix is True
    assert page.template is None


@pytest.mark.parametrize("status", [304, 401, 403, 404, 429])
def test_pass_through_statuses(kit: ServiceClient, status: int) -> None:
    page = kit.get(f"/abort/{status}")

    assert page.status_code == status
    assert page.action_status == status
    assert page.denied_by is None


def test_other_statuses_become_404(kit: ServiceClient) -> None:
    teapot = kit.get("/odd")
    wrong_method = kit.post("/odd")
    gone = kit.get("/abort/410")

    assert (teapot.status_code, teapot.action_status) == (404, 418)
    assert (wrong_method.status_code, wrong_method.action_status) == (404, 405)
    assert (gone.status_code, gone.action_status) == (404, 410)


def test_action_that_raises_is_500(kit: ServiceClient, caplog: pytest.LogCaptureFixture) -> None:
    page = kit.get("/boom")

    assert page.status_code == 500
    assert "the action is broken" in caplog.text


def test_template_that_vanished_is_404(kit: ServiceClient) -> None:
    (TEMPLATES / "vanishing.html").write_text("{{ name }}")
    page = kit.get("/vanishing/x")

    assert page.meta is not None
    assert page.meta["template_tag"]
    assert page.status_code == 404
    assert page.action_status == 200
    assert page.template is None


def test_json_only_page_needs_no_template(kit: ServiceClient) -> None:
    (TEMPLATES / "vanishing.html").write_text("{{ fine }}")
    # The proxy does not render a json_only page: a missing template does not matter.
    page = kit.get("/lost_json")

    assert page.status_code == 200
    assert page.data == {"fine": True}


def test_action_whose_template_file_is_missing_is_404(kit: ServiceClient) -> None:
    page = kit.get("/lost")

    assert page.meta == {"template_tag": ""}
    assert (page.status_code, page.action_status) == (404, 200)
    assert page.template is None


def test_page_text(kit: ServiceClient) -> None:
    page = kit.get("/etag")

    assert isinstance(page, Page)
    assert page.text == '{"value":1}'


# -- Clients -----------------------------------------------------------------------------------
def test_client_without_with_block(service: Service) -> None:
    client = ServiceClient(service)
    try:
        assert client.get("/", user=MEMBER).template == "<p>home</p>\n"
    finally:
        client.close()


def test_client_needs_an_app_or_a_url() -> None:
    with pytest.raises(TypeError, match="base_url"):
        ServiceClient()


def test_service_prefix_is_followed(tmp_path: Path) -> None:
    service = Service("prefixed", root=tmp_path, settings=Settings(base_url="/svc/"))

    @service.action("/hello")
    def hello(request: Request) -> dict[str, str]:
        return {"hello": "world"}

    with ServiceClient(service) as client:
        assert client.base_url == "http://testserver/svc/"
        assert client.get("/hello").data == {"hello": "world"}
    with LiveServer(service) as server, ServiceClient.at(server.url + "/svc") as client:
        assert client.get("/hello").data == {"hello": "world"}


def test_calls_go_through_the_network_guard(tmp_path: Path) -> None:
    # In-process calls come from 127.0.0.1: a service that only trusts 10/8 refuses them.
    settings = Settings(allowed_networks=parse_networks(["10.0.0.0/8"]))
    strict = Service("strict", root=tmp_path, settings=settings)

    @strict.action("/hello")
    def hello(request: Request) -> dict[str, str]:
        return {"hello": "world"}

    with ServiceClient(strict) as client:
        assert client.get("/hello").status_code == 404


def test_exported_names() -> None:
    import plugit.testing

    assert plugit.testing.__all__ == sorted(plugit.testing.__all__)
    for name in plugit.testing.__all__:
        assert getattr(plugit.testing, name).__module__.startswith("plugit.testing")


def test_default_app_can_be_tested_before_it_is_loaded() -> None:
    import plugit

    with ServiceClient(plugit.app) as client:
        assert client.base_url == "http://testserver/"

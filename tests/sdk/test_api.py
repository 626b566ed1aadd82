"""`plugit.api`: the service-side client of the proxy's API, blocking and async.

The real proxy is built alongside the SDK, so these tests talk to `FakeProxyAPI`, a fake of
the proxy's API (docs/protocol.md §6) served by a real uvicorn on a real socket. It answers for
the standalone proxy's simulated users and organisations, and under other roots it hangs,
fails, answers garbage, or wants an API key.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from plugit.api import AsyncPlugItAPI, Orga, PlugItAPI, User
from plugit.exceptions import APIConnectionError, APIResponseError, ConfigurationError
from plugit.simulation import ORGAS, ORGAS_BY_PK, USERS_BY_PK
from plugit.testing import BlockingASGITransport, LiveServer

API_KEY = "s3cret-key"
ADMIN_UUID = "6f1c1a4e-2b7d-4c1e-9d3a-0a1b2c3d4e5f"
SUBSCRIPTIONS = {-2: ["premium", "newsletter"], -3: ["premium"]}


# -- The fake proxy API ------------------------------------------------------------------------
class FakeProxyAPI(Starlette):
    """A fake of the proxy's API for services, answering as the standalone proxy would.

    Roots: `/plugIt/ebuio_api/` answers (with no forum, like this platform's proxies);
    `/forum/ebuio_api/` has a forum too, as the original platform had; `/secured/ebuio_api/`
    wants `Bearer s3cret-key`; `/hanging/...` never answers; `/failing/...` answers 500;
    `/garbage/...` answers HTML. Every mail it is asked to send is kept in `mails`, every
    forum call in `forum`, every Authorization header in `auth`.
    """

    def __init__(self) -> None:
        self.mails: list[list[tuple[str, str]]] = []
        self.forum: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.auth: list[str | None] = []
        super().__init__(
            routes=[
                Mount("/plugIt/ebuio_api", routes=self._api_routes()),
                Mount("/forum/ebuio_api", routes=[*self._api_routes(), *self._forum_routes()]),
                Mount("/secured/ebuio_api", routes=self._api_routes(key=API_KEY)),
                Mount("/hanging/ebuio_api", app=_hang),
                Mount("/failing/ebuio_api", app=PlainTextResponse("Internal error", 500)),
                Mount("/garbage/ebuio_api", app=Response("<html>login</html>", 200)),
            ]
        )

    def _api_routes(self, key: str | None = None) -> list[Route]:
        def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Any:
            async def endpoint(request: Request) -> Response:
                self.auth.append(request.headers.get("authorization"))
                if key is not None and request.headers.get("authorization") != f"Bearer {key}":
                    return JSONResponse({"error": "bad API key"}, 403)
                return await handler(request)

            return endpoint

        return [
            Route("/user/{pk}", guarded(self.user)),
            Route("/orga/{pk}", guarded(self.orga)),
            Route("/orgas/", guarded(self.orgas)),
            Route("/members/", guarded(self.members)),
            Route("/subscriptions/{pk}", guarded(self.subscriptions)),
            Route("/mail/", guarded(self.mail), methods=["POST"]),
        ]

    def _forum_routes(self) -> list[Route]:
        return [
            Route("/ebuio/forum/", self.forum_home, methods=["GET", "POST"]),
            Route("/ebuio/forum/search/bytag/{tag}", self.forum_by_tag),
        ]

    async def forum_home(self, request: Request) -> Response:
        form = await request.form()
        self.forum.append((request.method, request.url.path, list(form.multi_items())))  # type: ignore[arg-type]
        if request.method == "POST":
            return JSONResponse({"result": "Ok", "topic": 7})
        return JSONResponse({"topics": 2})

    async def forum_by_tag(self, request: Request) -> Response:
        self.forum.append(("GET", str(request.url.path) + "?" + request.url.query, []))
        tag = request.path_params["tag"]
        return JSONResponse({"data": [{"subject": f"about {tag}"}]})

    async def user(self, request: Request) -> Response:
        pk = request.path_params["pk"]
        found = _user_by_pk(-3 if pk == ADMIN_UUID else _int(pk))
        return JSONResponse(found) if found else JSONResponse({"error": "no such user"}, 404)

    async def orga(self, request: Request) -> Response:
        orga = ORGAS_BY_PK.get(_int(request.path_params["pk"]))
        if orga is None:
            return JSONResponse({"error": "no such organisation"}, 404)
        return JSONResponse({"pk": orga.pk, "name": orga.name, "codops": orga.codops})

    async def orgas(self, request: Request) -> Response:
        data = [{"id": o.pk, "name": o.name, "codops": o.codops} for o in ORGAS]
        return JSONResponse({"data": data})

    async def members(self, request: Request) -> Response:
        return JSONResponse({"members": [_user_by_pk(-2), _user_by_pk(-3)]})

    async def subscriptions(self, request: Request) -> Response:
        pk = _int(request.path_params["pk"])
        if pk not in USERS_BY_PK:
            return JSONResponse({"error": "no such user"}, 404)
        return JSONResponse(SUBSCRIPTIONS.get(pk, []))

    async def mail(self, request: Request) -> Response:
        form = await request.form()
        self.mails.append([(name, str(value)) for name, value in form.multi_items()])
        return JSONResponse({})


def _int(text: str) -> int:
    """The number in a path, or 0 (no user or organisation has it)."""
    try:
        return int(text)
    except ValueError:
        return 0


def _user_by_pk(pk: int) -> dict[str, Any] | None:
    user = USERS_BY_PK.get(pk)
    if user is None:
        return None
    fields = user.fields(orga_mode=True)
    fields["orgas"] = [
        {"id": o.pk, "name": o.name, "codops": o.codops, "is_admin": user.admin} for o in ORGAS[:2]
    ]
    fields["favourite_colour"] = "blue"  # a field beyond the default allow-list
    return fields


async def _hang(scope: Any, receive: Any, send: Any) -> None:
    """Never answer (until the caller gives up and disconnects)."""
    for _ in range(200):
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)


# -- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> FakeProxyAPI:
    return FakeProxyAPI()


@pytest.fixture(scope="module")
def server(fake: FakeProxyAPI) -> Iterator[LiveServer]:
    with LiveServer(fake) as live:
        yield live


@pytest.fixture
def root(server: LiveServer) -> str:
    """The API root of the fake, without its trailing slash (the client adds it)."""
    return server.url + "/plugIt/ebuio_api"


@pytest.fixture(params=["blocking", "async"])
def call(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`call(url, method, *args, **options)`: one API call with `PlugItAPI` or `AsyncPlugItAPI`.

    Options are those of the clients' constructors; each call opens and closes a client.
    """
    flavour = request.param

    def run(url: str, method: str, *args: Any, **options: Any) -> Any:
        if flavour == "blocking":
            with PlugItAPI(url, **options) as api:
                return getattr(api, method)(*args)

        async def run_async() -> Any:
            async with AsyncPlugItAPI(url, **options) as api:
                return await getattr(api, method)(*args)

        return asyncio.run(run_async())

    return run


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- Users -------------------------------------------------------------------------------------
def test_get_user_gives_every_field_as_an_attribute(call: Callable[..., Any], root: str) -> None:
    user = call(root, "get_user", -2)

    assert isinstance(user, User)
    assert (user.pk, user.id, user.username, user.email) == (
        -2,
        "-2",
        "member",
        "member@example.org",
    )
    assert (user.first_name, user.last_name) == ("Member", "User")
    assert user.ebuio_member is True
    assert user.ebuio_admin is False
    assert user.ebuio_orga_member is True
    assert user.ebuio_orga_admin is False
    assert user.favourite_colour == "blue"
    assert user["username"] == "member"


def test_user_orgas_are_objects(call: Callable[..., Any], root: str) -> None:
    user = call(root, "get_user", -3)

    assert [(o.id, o.pk, o.name, o.codops, o.is_admin) for o in user.orgas] == [
        (-1, -1, "EBU", "zzebu", True),
        (-2, -2, "RTS", "chrts", True),
    ]


def test_user_to_dict_is_the_answer(call: Callable[..., Any], root: str) -> None:
    user = call(root, "get_user", -1)

    assert user.to_dict() == _user_by_pk(-1)
    user.to_dict()["username"] = "changed"
    assert user.username == "logged"
    assert user.to_dict()["username"] == "logged"


def test_get_user_by_uuid(call: Callable[..., Any], root: str) -> None:
    by_text = call(root, "get_user", ADMIN_UUID)
    by_uuid = call(root, "get_user", uuid.UUID(ADMIN_UUID))

    assert by_text.username == by_uuid.username == "admin"
    assert by_text == by_uuid


def test_unknown_user_is_none(call: Callable[..., Any], root: str) -> None:
    assert call(root, "get_user", 999) is None


def test_missing_attribute_is_an_attribute_error(root: str) -> None:
    with PlugItAPI(root) as api:
        user = api.get_user(-1)
    assert user is not None
    with pytest.raises(AttributeError, match="no field 'shoe_size'"):
        _ = user.shoe_size
    assert not hasattr(user, "shoe_size")


def test_get_project_members(call: Callable[..., Any], root: str) -> None:
    members = call(root, "get_project_members")

    assert [(m.pk, m.username, m.ebuio_admin) for m in members] == [
        (-2, "member", False),
        (-3, "admin", True),
    ]
    assert all(isinstance(m, User) for m in members)


def test_get_subscription_labels(call: Callable[..., Any], root: str) -> None:
    assert call(root, "get_subscription_labels", -2) == ["premium", "newsletter"]
    assert call(root, "get_subscription_labels", -1) == []


def test_subscription_labels_of_an_unknown_user_are_empty(
    call: Callable[..., Any], root: str
) -> None:
    assert call(root, "get_subscription_labels", 999) == []


# -- Organisations -----------------------------------------------------------------------------
def test_get_orga(call: Callable[..., Any], root: str) -> None:
    orga = call(root, "get_orga", -2)

    assert isinstance(orga, Orga)
    assert (orga.pk, orga.id, orga.name, orga.codops) == (-2, -2, "RTS", "chrts")
    assert orga.to_dict() == {"pk": -2, "name": "RTS", "codops": "chrts"}


def test_unknown_orga_is_none(call: Callable[..., Any], root: str) -> None:
    assert call(root, "get_orga", 42) is None


def test_get_orgas(call: Callable[..., Any], root: str) -> None:
    orgas = call(root, "get_orgas")

    assert [(o.id, o.name, o.codops) for o in orgas] == [
        (-1, "EBU", "zzebu"),
        (-2, "RTS", "chrts"),
        (-3, "BBC", "gbbbc"),
        (-4, "CNN", "uscnn"),
    ]


# -- Mail --------------------------------------------------------------------------------------
def test_send_mail_posts_the_form(call: Callable[..., Any], root: str, fake: FakeProxyAPI) -> None:
    fake.mails.clear()
    sent = call(
        root,
        "send_mail",
        "noreply@example.org",
        "Results",
        ["a@example.org", "b@example.org"],
        "<p>Hello</p>",
        "poll-3",
        True,
    )

    assert sent is True
    assert fake.mails == [
        [
            ("sender", "noreply@example.org"),
            ("subject", "Results"),
            ("message", "<p>Hello</p>"),
            ("dests", "a@example.org"),
            ("dests", "b@example.org"),
            ("html_message", "True"),
            ("response_id", "poll-3"),
        ]
    ]


def test_send_mail_defaults(call: Callable[..., Any], root: str, fake: FakeProxyAPI) -> None:
    fake.mails.clear()
    assert call(root, "send_mail", "me@example.org", "Hi", "you@example.org", "text") is True

    form = dict(fake.mails[0])
    assert form["dests"] == "you@example.org"
    assert form["html_message"] == "False"
    assert "response_id" not in form


# -- Forum -------------------------------------------------------------------------------------
def test_this_platform_has_no_forum(call: Callable[..., Any], root: str) -> None:
    assert call(root, "ebuio_forum") is None
    assert call(root, "forum_create_topic", "Hello", -1, "First post", "news") is None
    assert call(root, "forum_topic_get_by_tag_for_user", "news", -1) is None


def test_forum_topic_by_tag_without_a_tag_asks_nothing(
    call: Callable[..., Any], server: LiveServer, fake: FakeProxyAPI
) -> None:
    fake.forum.clear()
    url = server.url + "/forum/ebuio_api/"
    assert call(url, "forum_topic_get_by_tag_for_user") is None
    assert call(url, "forum_topic_get_by_tag_for_user", "", -1) is None
    assert fake.forum == []


def test_forum_calls_as_the_original_sent_them(
    call: Callable[..., Any], server: LiveServer, fake: FakeProxyAPI
) -> None:
    fake.forum.clear()
    url = server.url + "/forum/ebuio_api/"

    assert call(url, "ebuio_forum") == {"topics": 2}
    assert call(url, "forum_create_topic", "Hello", -1, "First post", "news") == {
        "result": "Ok",
        "topic": 7,
    }
    assert call(url, "forum_create_topic", "Again", "-2", "Second") == {"result": "Ok", "topic": 7}
    assert call(url, "forum_topic_get_by_tag_for_user", "news", -1) == [{"subject": "about news"}]
    assert call(url, "forum_topic_get_by_tag_for_user", "a b") == [{"subject": "about a b"}]
    assert fake.forum == [
        ("GET", "/forum/ebuio_api/ebuio/forum/", []),
        (
            "POST",
            "/forum/ebuio_api/ebuio/forum/",
            [("subject", "Hello"), ("author", "-1"), ("message", "First post"), ("tags", "news")],
        ),
        (
            "POST",
            "/forum/ebuio_api/ebuio/forum/",
            [("subject", "Again"), ("author", "-2"), ("message", "Second"), ("tags", "")],
        ),
        ("GET", "/forum/ebuio_api/ebuio/forum/search/bytag/news?u=-1", []),
        ("GET", "/forum/ebuio_api/ebuio/forum/search/bytag/a b?", []),
    ]


def test_every_method_of_the_original_client() -> None:
    original = {
        "get_user",
        "get_subscription_labels",
        "get_orgas",
        "get_orga",
        "get_project_members",
        "send_mail",
        "ebuio_forum",
        "forum_create_topic",
        "forum_topic_get_by_tag_for_user",
    }
    for client in (PlugItAPI, AsyncPlugItAPI):
        public = {name for name in vars(client) if not name.startswith("_")}
        assert original <= public, client


def test_original_keyword_names_are_accepted(root: str) -> None:
    # Services call these with the original's keyword names.
    with PlugItAPI(root) as api:
        assert api.get_user(userPk=-2) is not None
        assert api.get_orga(orgaPk=-2) is not None
        assert api.get_subscription_labels(userPk=-2) == SUBSCRIPTIONS[-2]

    async def run_async() -> None:
        async with AsyncPlugItAPI(root) as api:
            assert await api.get_user(userPk=-2) is not None
            assert await api.get_orga(orgaPk=-2) is not None
            assert await api.get_subscription_labels(userPk=-2) == SUBSCRIPTIONS[-2]

    asyncio.run(run_async())


# -- API key -----------------------------------------------------------------------------------
def test_api_key_goes_in_the_authorization_header(
    call: Callable[..., Any], server: LiveServer, fake: FakeProxyAPI
) -> None:
    secured = server.url + "/secured/ebuio_api/"
    fake.auth.clear()

    assert call(secured, "get_orga", -1, api_key=API_KEY).name == "EBU"
    assert fake.auth == [f"Bearer {API_KEY}"]


def test_no_api_key_no_authorization_header(
    call: Callable[..., Any], root: str, fake: FakeProxyAPI
) -> None:
    fake.auth.clear()
    call(root, "get_orgas")
    assert fake.auth == [None]


def test_wrong_api_key_is_a_refusal_and_a_warning(
    call: Callable[..., Any], server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    secured = server.url + "/secured/ebuio_api/"
    with caplog.at_level(logging.WARNING, logger="plugit.api"):
        assert call(secured, "get_orgas", api_key="wrong") is None
    assert f"refused GET {secured}orgas/ with 403" in caplog.text


# -- Refusals: what the original client gave -----------------------------------------------------
@pytest.mark.parametrize(
    ("method", "args", "answer"),
    [
        ("get_user", (-1,), None),
        ("get_orga", (-1,), None),
        ("get_orgas", (), None),
        ("get_project_members", (), None),
        ("get_subscription_labels", (-1,), []),
        ("send_mail", ("a@x.org", "s", ["b@x.org"], "m"), False),
        ("ebuio_forum", (), None),
        ("forum_create_topic", ("s", -1, "m"), None),
        ("forum_topic_get_by_tag_for_user", ("news", -1), None),
    ],
)
def test_a_refused_call_gives_the_original_answer(
    call: Callable[..., Any], server: LiveServer, method: str, args: tuple[Any, ...], answer: Any
) -> None:
    secured = server.url + "/secured/ebuio_api/"
    assert call(secured, method, *args, api_key="wrong") == answer


# -- Errors ------------------------------------------------------------------------------------
def test_refused_connection(call: Callable[..., Any]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/plugIt/ebuio_api/"
    with pytest.raises(APIConnectionError, match="could not be reached") as raised:
        call(url, "get_user", -1)
    assert url + "user/-1" in str(raised.value)


def test_timeout(call: Callable[..., Any], server: LiveServer) -> None:
    url = server.url + "/hanging/ebuio_api/"
    with pytest.raises(APIConnectionError, match="did not answer in time") as raised:
        call(url, "get_orgas", timeout=0.2)
    assert url + "orgas/" in str(raised.value)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("get_user", (-1,)),
        ("get_orga", (-1,)),
        ("get_orgas", ()),
        ("send_mail", ("a", "b", "c", "d")),
    ],
)
def test_server_error(
    call: Callable[..., Any], server: LiveServer, method: str, args: tuple[Any, ...]
) -> None:
    url = server.url + "/failing/ebuio_api/"
    with pytest.raises(APIResponseError, match="answered 500") as raised:
        call(url, method, *args)
    assert raised.value.status_code == 500
    assert url in str(raised.value)


@pytest.mark.parametrize(
    ("method", "args"),
    [("get_user", (-1,)), ("get_project_members", ()), ("get_subscription_labels", (-1,))],
)
def test_body_that_is_not_json(
    call: Callable[..., Any], server: LiveServer, method: str, args: tuple[Any, ...]
) -> None:
    url = server.url + "/garbage/ebuio_api/"
    with pytest.raises(APIResponseError, match="unexpected body") as raised:
        call(url, method, *args)
    assert raised.value.status_code == 200
    assert url in str(raised.value)


def test_json_of_the_wrong_shape(server: LiveServer) -> None:
    # members/ answered with a user list in place of {"members": [...]}: a protocol violation.
    app = Starlette(routes=[Route("/api/members/", lambda _: JSONResponse([1, 2]))])
    with (
        PlugItAPI("http://proxy.test/api/", transport=BlockingASGITransport(app)) as api,
        pytest.raises(APIResponseError, match="unexpected body"),
    ):
        api.get_project_members()


def test_404_on_lists_is_a_refusal(
    call: Callable[..., Any], server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="plugit.api"):
        assert call(server.url + "/nowhere/ebuio_api/", "get_orgas") is None
        assert call(server.url + "/nowhere/ebuio_api/", "get_project_members") is None
    assert caplog.text == ""  # a 404 is an answer ("not here"), not a misconfiguration


@pytest.mark.parametrize(
    ("method", "args"),
    [("get_subscription_labels", (-1,)), ("ebuio_forum", ()), ("get_project_members", ())],
)
def test_connection_failures_still_raise(
    call: Callable[..., Any], method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(APIConnectionError):
        call(f"http://127.0.0.1:{closed_port()}/plugIt/ebuio_api/", method, *args)


def test_every_error_is_a_plugit_error(call: Callable[..., Any]) -> None:
    from plugit.exceptions import APIError, PlugItError

    with pytest.raises(APIError) as raised:
        call(f"http://127.0.0.1:{closed_port()}/", "get_orgas")
    assert isinstance(raised.value, PlugItError)


@pytest.mark.parametrize("url", ["", "ftp://example.org/api/", "/plugIt/ebuio_api/", "proxy"])
def test_a_url_that_is_not_http_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        PlugItAPI(url)
    with pytest.raises(ConfigurationError, match="http"):
        AsyncPlugItAPI(url)


def test_trailing_slash_is_added() -> None:
    with PlugItAPI("http://proxy.test/plugIt/ebuio_api") as api:
        assert api.url == "http://proxy.test/plugIt/ebuio_api/"


# -- In-process, through a transport -----------------------------------------------------------
def test_blocking_client_in_process(fake: FakeProxyAPI) -> None:
    transport = BlockingASGITransport(fake)
    with PlugItAPI("http://proxy.test/plugIt/ebuio_api/", transport=transport) as api:
        assert api.get_orga(-3) == Orga.from_json({"pk": -3, "name": "BBC", "codops": "gbbbc"})
        assert api.get_user(12345) is None


async def test_async_client_in_process(fake: FakeProxyAPI) -> None:
    transport = httpx.ASGITransport(fake)
    async with AsyncPlugItAPI("http://proxy.test/plugIt/ebuio_api", transport=transport) as api:
        user, orgas = await asyncio.gather(api.get_user(-2), api.get_orgas())
    assert user is not None
    assert user.username == "member"
    assert len(orgas) == 4


async def test_async_client_over_a_socket_concurrently(root: str) -> None:
    api = AsyncPlugItAPI(root)
    try:
        users = await asyncio.gather(*(api.get_user(pk) for pk in (-1, -2, -3, 7)))
    finally:
        await api.aclose()
    assert [u.username if u else None for u in users] == ["logged", "member", "admin", None]


async def test_async_timeout_does_not_block_the_loop(server: LiveServer) -> None:
    async with AsyncPlugItAPI(server.url + "/hanging/ebuio_api/", timeout=0.2) as api:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        with pytest.raises(APIConnectionError):
            await api.get_orgas()
        ticker.cancel()
    assert ticks > 5

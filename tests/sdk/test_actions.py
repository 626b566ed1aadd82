"""`<METHOD> action<route>`: Werkzeug routes, converted variables, methods, threads."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx
import pytest

from plugit import Request, Service

from .helpers import make_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("actions"))

    @service.action("/")
    def home(request: Request) -> dict[str, str]:
        return {"page": "home"}

    @service.action("/show/<int:pollId>")
    def show(request: Request, pollId: int) -> dict[str, object]:
        return {"pollId": pollId, "type": type(pollId).__name__}

    @service.action("/price/<float:value>")
    def price(request: Request, value: float) -> dict[str, object]:
        return {"value": value, "type": type(value).__name__}

    @service.action("/file/<path:name>")
    def file(request: Request, name: str) -> dict[str, str]:
        return {"name": name}

    @service.action("/user/<name>")
    def user(request: Request, name: str) -> dict[str, str]:
        return {"name": name}

    @service.action("/tag/<string:label>/<int:page>")
    def tag(request: Request, label: str, page: int) -> dict[str, object]:
        return {"label": label, "page": page}

    @service.action("/item/<uuid:key>")
    def item(request: Request, key: uuid.UUID) -> dict[str, object]:
        return {"key": str(key), "type": type(key).__name__}

    @service.action("/kind/<any(cat, dog):animal>")
    def kind(request: Request, animal: str) -> dict[str, str]:
        return {"animal": animal}

    @service.action("/edit", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def edit(request: Request) -> dict[str, str]:
        return {"method": request.method}

    @service.action("/post-only", methods=["post"])
    def post_only(request: Request) -> dict[str, str]:
        return {"method": request.method}

    @service.action("/thread/sync")
    def sync_thread(request: Request) -> dict[str, object]:
        return {"thread": threading.get_ident()}

    @service.action("/thread/async")
    async def async_thread(request: Request) -> dict[str, object]:
        await asyncio.sleep(0)
        return {"thread": threading.get_ident()}

    return service


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/action/", {"page": "home"}),
        ("/action/show/42", {"pollId": 42, "type": "int"}),
        ("/action/price/3.25", {"value": 3.25, "type": "float"}),
        ("/action/file/a/b/c.txt", {"name": "a/b/c.txt"}),
        ("/action/user/alice", {"name": "alice"}),
        ("/action/user/Zo%C3%AB", {"name": "Zoë"}),
        ("/action/tag/news/2", {"label": "news", "page": 2}),
        (
            "/action/item/12345678-1234-5678-1234-567812345678",
            {"key": "12345678-1234-5678-1234-567812345678", "type": "UUID"},
        ),
        ("/action/kind/dog", {"animal": "dog"}),
    ],
)
async def test_route_variables_arrive_converted(
    client: httpx.AsyncClient, path: str, expected: dict[str, object]
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected


@pytest.mark.parametrize(
    "path",
    [
        "/action/nowhere",
        "/action/show/abc",
        "/action/show/-1",
        "/action/show/",
        "/action/price/3",
        "/action/user/a/b",
        "/action/item/not-a-uuid",
        "/action/kind/bird",
        "/action",
        "/actionshow/1",
    ],
)
async def test_unknown_routes_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_default_method_is_get_only(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


async def test_head_is_answered_with_get(client: httpx.AsyncClient) -> None:
    answer = await client.head("/action/show/1")
    assert answer.status_code == 200
    assert answer.content == b""


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
async def test_declared_methods_run_the_action(client: httpx.AsyncClient, method: str) -> None:
    answer = await client.request(method, "/action/edit")
    assert answer.status_code == 200
    assert answer.json() == {"method": method}


async def test_methods_are_case_insensitive_in_the_declaration(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/action/post-only")).json() == {"method": "POST"}
    answer = await client.get("/action/post-only")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


async def test_sync_actions_run_in_a_worker_thread(client: httpx.AsyncClient, depth: str) -> None:
    sync = (await client.get("/action/thread/sync")).json()["thread"]
    asynchronous = (await client.get("/action/thread/async")).json()["thread"]
    assert sync != asynchronous
    if depth == "asgi":  # in-process, the service runs on the test's own loop
        assert asynchronous == threading.get_ident()
        assert sync != threading.get_ident()


async def test_sync_actions_do_not_block_each_other(tmp_path) -> None:
    slow = make_service(tmp_path)
    started = threading.Barrier(2, timeout=5)

    @slow.action("/wait")
    def wait(request: Request) -> dict[str, str]:
        started.wait()  # both calls must be running at once to pass the barrier
        return {"ok": "yes"}

    transport = httpx.ASGITransport(slow, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(client.get("/action/wait"), client.get("/action/wait"))
    assert [a.json() for a in answers] == [{"ok": "yes"}] * 2

"""`@send_etag`, `@crossdomain` and `get_session_from_request`."""

from __future__ import annotations

import datetime

import httpx
import pytest

from plugit import Request, Service
from plugit.utils import crossdomain, get_session_from_request, send_etag

from .helpers import make_service

calls: list[str] = []


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("cors"))

    @service.action("/etag")
    @send_etag()
    def etag(request: Request) -> dict[str, object]:
        return {"_plugit_etag": '"v42"', "data": 1}

    @service.action("/etag-absent")
    @send_etag()
    def etag_absent(request: Request) -> dict[str, object]:
        return {"data": 2}

    @service.action("/no-etag-decorator")
    def no_etag(request: Request) -> dict[str, object]:
        return {"_plugit_etag": "kept", "data": 3}

    @crossdomain()  # decorators stack in any order
    @service.action("/cors-default", methods=["GET", "post"])
    def cors_default(request: Request) -> dict[str, str]:
        calls.append("cors-default")
        return {"ran": "yes"}

    @service.action("/cors-full", methods=["GET", "PUT"])
    @crossdomain(
        origin=["https://a.example", "https://b.example"],
        methods=["put", "get", "delete"],
        headers=["x-requested-with", "Content-Type"],
        max_age=datetime.timedelta(minutes=10),
    )
    def cors_full(request: Request) -> dict[str, str]:
        calls.append("cors-full")
        return {"ran": "yes"}

    @service.action("/cors-origin-str")
    @crossdomain(origin="https://only.example", headers="x-one", max_age=60)
    @send_etag()
    def cors_origin(request: Request) -> dict[str, str]:
        return {"_plugit_etag": "e1", "ran": "yes"}

    @service.action("/session")
    def session(request: Request) -> dict[str, str]:
        return get_session_from_request(request)

    return service


@pytest.fixture(autouse=True)
def _clear() -> None:
    calls.clear()


async def test_etag_item_becomes_the_header(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/etag")
    assert answer.headers["etag"] == '"v42"'
    assert answer.json() == {"data": 1}


async def test_etag_absent_from_result(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/etag-absent")
    assert "etag" not in answer.headers
    assert answer.json() == {"data": 2}


async def test_without_send_etag_the_item_stays(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/no-etag-decorator")
    assert "etag" not in answer.headers
    assert answer.json() == {"_plugit_etag": "kept", "data": 3}


async def test_crossdomain_defaults(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/cors-default")
    assert answer.json() == {"ran": "yes"}
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-methods"] == "GET, OPTIONS, POST"
    assert answer.headers["access-control-max-age"] == "21600"
    assert "access-control-allow-headers" not in answer.headers


async def test_options_is_answered_without_running_the_action(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.options("/action/cors-default")
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-methods"] == "GET, OPTIONS, POST"
    assert calls == []


async def test_crossdomain_full(client: httpx.AsyncClient) -> None:
    answer = await client.put("/action/cors-full")
    assert calls == ["cors-full"]
    assert answer.headers["access-control-allow-origin"] == "https://a.example, https://b.example"
    assert answer.headers["access-control-allow-methods"] == "DELETE, GET, PUT"
    assert answer.headers["access-control-max-age"] == "600"
    assert answer.headers["access-control-allow-headers"] == "X-REQUESTED-WITH, CONTENT-TYPE"
    options = await client.options("/action/cors-full")
    assert options.status_code == 200
    assert options.headers["access-control-max-age"] == "600"
    assert calls == ["cors-full"]


async def test_crossdomain_origin_string_and_etag_together(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/cors-origin-str")
    assert answer.headers["access-control-allow-origin"] == "https://only.example"
    assert answer.headers["access-control-allow-headers"] == "X-ONE"
    assert answer.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert answer.headers["access-control-max-age"] == "60"
    assert answer.headers["etag"] == "e1"


async def test_options_without_crossdomain_is_405(client: httpx.AsyncClient) -> None:
    assert (await client.options("/action/etag")).status_code == 405


async def test_session_from_headers(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/action/session",
        headers={"X-Plugitsession-cart": "3 items", "X-Plugitsession-lang": "fr", "X-Other": "no"},
    )
    assert answer.json() == {"cart": "3 items", "lang": "fr"}


async def test_session_keys_keep_their_case_through_cookies(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/action/session",
        headers={
            "X-Plugitsession-userId": "17",
            "X-Plugitsession-Theme": "dark",
            "Cookie": "userId=17; Theme=dark",
        },
    )
    assert answer.json() == {"userId": "17", "Theme": "dark"}


async def test_no_session(client: httpx.AsyncClient) -> None:
    assert (await client.get("/action/session")).json() == {}

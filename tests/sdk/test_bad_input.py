"""Bad input is the caller's fault (4xx), never the service's (500)."""

from __future__ import annotations

import httpx
import pytest

from plugit import Request, Service

from .conftest import ServeFn
from .helpers import asgi_request, http_request, make_service, raw_http

LIMIT = 1000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("bad"), max_body_size=LIMIT)

    @service.action("/", methods=["GET", "POST"])
    def home(request: Request) -> dict[str, object]:
        return {
            "size": len(request.data),
            "args": request.args.to_dict(),
            "form": len(request.form),
        }

    return service


async def test_malformed_percent_encoding_in_query_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/?a=%ff")
    assert answer.status_code == 400


async def test_raw_utf8_query_is_accepted(service: Service) -> None:
    answer = await asgi_request(service, "GET", "/action/", query="q=é&r=a+b%20c".encode())
    assert answer.status == 200
    assert b'"q":"\xc3\xa9"' in answer.body
    assert b'"r":"a b c"' in answer.body


async def test_invalid_utf8_raw_query_is_400(service: Service) -> None:
    answer = await asgi_request(service, "GET", "/action/", query=b"q=\xff")
    assert answer.status == 400


async def test_multipart_without_boundary_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/action/", content=b"a=1", headers={"Content-Type": "multipart/form-data"}
    )
    assert answer.status_code == 400


async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/", content=b"x" * LIMIT)
    assert answer.status_code == 200
    assert answer.json()["size"] == LIMIT


async def test_body_over_the_limit_with_content_length_is_413(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/action/", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413


async def test_body_over_the_limit_chunked_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(5):
            yield b"y" * 300

    answer = await client.post("/action/", content=chunks())
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert answer.status_code == 413


async def test_chunked_body_over_the_limit_in_process_is_413(service: Service) -> None:
    answer = await asgi_request(service, "POST", "/action/", chunks=[b"z" * 600, b"z" * 600])
    assert answer.status == 413


async def test_chunked_body_over_the_limit_over_a_socket_is_413(
    service: Service, live: ServeFn
) -> None:
    server = live(service)
    head = http_request("POST", "/action/", [("Transfer-Encoding", "chunked")])
    body = b"".join(b"%x\r\n%s\r\n" % (400, b"w" * 400) for _ in range(3)) + b"0\r\n\r\n"
    answer = await raw_http(server.host, server.port, head + body)
    assert answer.status == 413


async def test_form_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/", data={"f": "v" * (LIMIT + 10)})
    assert answer.status_code == 413


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "1e3"])
async def test_invalid_content_length_in_process_is_400(service: Service, value: str) -> None:
    answer = await asgi_request(
        service, "POST", "/action/", headers=[("Content-Length", value)], chunks=[b"x"]
    )
    assert answer.status == 400


async def test_invalid_content_length_over_a_socket_is_400(service: Service, live: ServeFn) -> None:
    server = live(service)
    request = http_request("POST", "/action/", [("Content-Length", "abc")]) + b"x"
    answer = await raw_http(server.host, server.port, request)
    assert answer.status == 400


async def test_mail_body_limit_applies_too(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"response_id": "1", "message": "m" * LIMIT})
    assert answer.status_code == 413


async def test_service_still_answers_after_bad_input(client: httpx.AsyncClient) -> None:
    await client.get("/action/?a=%ff")
    await client.post("/action/", content=b"x" * (LIMIT + 1))
    answer = await client.get("/action/?ok=1")
    assert answer.json() == {"size": 0, "args": {"ok": "1"}, "form": 0}

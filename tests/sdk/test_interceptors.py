"""Interceptors: `async def f(call, call_next)` around every action, first added outermost."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from plugit import ActionCall, CallNext, ConfigurationError, Request, Service, abort
from plugit.interceptors import logging_interceptor

from .helpers import make_service

trail: list[str] = []


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("interceptors"))

    @service.interceptor
    async def outer(call: ActionCall, call_next: CallNext) -> Any:
        trail.append("outer:before")
        if call.request.args.get("block") == "outer":
            return {"blocked_by": "outer"}
        result = await call_next()
        trail.append("outer:after")
        return result

    @service.interceptor
    async def inner(call: ActionCall, call_next: CallNext) -> Any:
        trail.append(f"inner:before:{call.action.route}:{sorted(call.kwargs.items())}")
        if call.request.headers.get("X-Deny"):
            abort(403)
        if call.request.args.get("fail"):
            raise RuntimeError("interceptor failure")
        result = await call_next()
        trail.append("inner:after")
        if isinstance(result, dict):
            return {**result, "wrapped": True}
        return result

    service.interceptor(logging_interceptor(logging.getLogger("test.interceptors")))

    @service.action("/hello/<int:n>")
    def hello(request: Request, n: int) -> dict[str, object]:
        trail.append("action")
        return {"n": n}

    @service.action("/async")
    async def asynchronous(request: Request) -> dict[str, object]:
        trail.append("action")
        return {"async": True}

    return service


@pytest.fixture(autouse=True)
def _clear() -> None:
    trail.clear()


async def test_order_and_modified_result(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/hello/3")
    assert answer.json() == {"n": 3, "wrapped": True}
    assert trail == [
        "outer:before",
        "inner:before:/hello/<int:n>:[('n', 3)]",
        "action",
        "inner:after",
        "outer:after",
    ]


async def test_async_action_through_interceptors(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/async")
    assert answer.json() == {"async": True, "wrapped": True}
    assert "action" in trail


async def test_short_circuit_skips_the_rest(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/hello/3?block=outer")
    assert answer.json() == {"blocked_by": "outer"}
    assert trail == ["outer:before"]


async def test_abort_in_an_interceptor(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/hello/3", headers={"X-Deny": "1"})
    assert answer.status_code == 403
    assert "action" not in trail


async def test_raise_in_an_interceptor_is_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="plugit"):
        answer = await client.get("/action/hello/3?fail=1")
    assert answer.status_code == 500
    assert "interceptor failure" not in answer.text
    assert any(r.exc_info and "interceptor failure" in str(r.exc_info[1]) for r in caplog.records)


async def test_logging_interceptor_logs_each_call(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="test.interceptors"):
        await client.get("/action/hello/9")
    messages = [r.getMessage() for r in caplog.records if r.name == "test.interceptors"]
    assert len(messages) == 1
    assert messages[0].startswith("GET /action/hello/9 -> ")


async def test_interceptors_do_not_run_for_protocol_calls(client: httpx.AsyncClient) -> None:
    await client.get("/ping")
    await client.get("/meta/hello/1")
    assert trail == []


def test_interceptor_must_be_async(tmp_path) -> None:
    service = make_service(tmp_path)

    def not_async(call: ActionCall, call_next: CallNext) -> Any:
        return None

    with pytest.raises(ConfigurationError, match="async"):
        service.interceptor(not_async)  # type: ignore[arg-type]


async def test_no_interceptor_after_serving_started(tmp_path) -> None:
    service = make_service(tmp_path)
    service.action("/")(lambda request: {})
    transport = httpx.ASGITransport(service, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/ping")

    async def late(call: ActionCall, call_next: CallNext) -> Any:
        return await call_next()

    with pytest.raises(ConfigurationError, match="already serving"):
        service.interceptor(late)

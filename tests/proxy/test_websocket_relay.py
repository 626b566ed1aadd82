"""Sockets through a live proxy to a live service: identity, frames, close codes, limits."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig
from plugit_proxy.requestcontext import RequestContextFilter

from .conftest import ProxyFactory, ProxyHandle
from .socket_kit import (
    Record,
    browser_socket,
    closed_with,
    eventually,
    session_cookie,
    socket_service,
)

LIMIT = 64 * 1024
UPSTREAM = UpstreamConfig(
    connect_timeout=1.0, timeout=2.0, ws_max_message=LIMIT, ws_connect_timeout=3.0
)


@pytest.fixture(scope="module")
def record() -> Record:
    return Record()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, record: Record) -> Iterator[LiveServer]:
    with LiveServer(socket_service(str(tmp_path_factory.mktemp("sockets")), record)) as server:
        yield server


@pytest.fixture
def proxy(proxy_factory: ProxyFactory, service: LiveServer) -> ProxyHandle:
    return proxy_factory(service.url, live=True, upstream=UPSTREAM)


def proxy_url(proxy: ProxyHandle) -> str:
    return str(proxy.client.base_url).rstrip("/")


async def test_member_socket_reaches_the_service_with_its_identity(proxy: ProxyHandle) -> None:
    cookie = await session_cookie(proxy.client, "mem")
    async with browser_socket(proxy_url(proxy), "/plugIt/members", cookie=cookie) as socket:
        seen = json.loads(await socket.recv())
    assert seen["username"] == "member"
    assert seen["member"] == "True"
    assert seen["email"] is None  # not asked for by this route's meta
    assert seen["orga"] == "-1"  # the standalone proxy's default organisation (EBU)
    assert seen["remote"] == "127.0.0.1"


async def test_anonymous_is_refused_where_the_rule_says_so(proxy: ProxyHandle) -> None:
    async with browser_socket(proxy_url(proxy), "/plugIt/members") as socket:
        code, reason = await closed_with(socket)
    assert code == 4403
    assert "only_member_user" in (reason or "")


async def test_a_route_without_rules_opens_for_anonymous(proxy: ProxyHandle) -> None:
    async with browser_socket(proxy_url(proxy), "/plugIt/echo?q=hi&ebuio_u_username=forged") as s:
        seen = json.loads(await s.recv())
    assert seen["username"] == ""  # anonymous: an empty field; the browser's forgery is gone
    assert seen["query"] == "hi"


async def test_an_organisation_switch_changes_the_next_socket(proxy: ProxyHandle) -> None:
    client = proxy.client
    cookie = await session_cookie(client, "mem")
    async with browser_socket(proxy_url(proxy), "/plugIt/members", cookie=cookie) as socket:
        assert json.loads(await socket.recv())["orga"] == "-1"
    assert (await client.get("/plugIt/ebuio_setOrga?pk=-3")).status_code == 302
    cookie = await session_cookie(client, "mem")
    async with browser_socket(proxy_url(proxy), "/plugIt/members", cookie=cookie) as socket:
        assert json.loads(await socket.recv())["orga"] == "-3"


async def test_frames_both_ways_text_and_binary_up_to_the_limit(proxy: ProxyHandle) -> None:
    cookie = await session_cookie(proxy.client, "log")
    async with browser_socket(proxy_url(proxy), "/plugIt/echo", cookie=cookie) as socket:
        assert json.loads(await socket.recv())["username"] == "logged"
        await socket.send("héllo ✓")
        assert await socket.recv() == "echo:héllo ✓"
        await socket.send(b"\x00\x01\xff")
        assert await socket.recv() == b"echo:\x00\x01\xff"
        largest = b"b" * (LIMIT - len(b"echo:"))  # the echo is exactly at the limit
        await socket.send(largest)
        assert await socket.recv() == b"echo:" + largest


async def test_a_browser_message_over_the_limit_is_a_clean_close(proxy: ProxyHandle) -> None:
    async with browser_socket(proxy_url(proxy), "/plugIt/echo") as socket:
        await socket.recv()
        await socket.send(b"x" * (LIMIT + 1))
        code, reason = await closed_with(socket)
    assert code == 1009
    assert str(LIMIT) in (reason or "")


async def test_a_service_message_over_the_limit_is_a_clean_close(proxy: ProxyHandle) -> None:
    async with browser_socket(proxy_url(proxy), f"/plugIt/big/{LIMIT + 1}") as socket:
        code, reason = await closed_with(socket)
    assert code == 1009
    assert "service" in (reason or "")


@pytest.mark.parametrize("code", [1000, 1011, 4000, 4321])
async def test_the_services_close_code_reaches_the_browser(proxy: ProxyHandle, code: int) -> None:
    async with browser_socket(proxy_url(proxy), f"/plugIt/close/{code}") as socket:
        assert await closed_with(socket) == (code, f"closing with {code}")


async def test_the_browsers_close_code_reaches_the_service(
    proxy: ProxyHandle, record: Record
) -> None:
    async with browser_socket(proxy_url(proxy), "/plugIt/echo") as socket:
        await socket.recv()
        await socket.close(code=4123, reason="bye")
    assert await eventually(lambda: 4123 in record.closes)


async def test_another_sites_page_is_refused(proxy: ProxyHandle) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with browser_socket(proxy_url(proxy), "/plugIt/echo", origin="http://evil.test"):
            pass
    assert refused.value.response.status_code == 403


async def test_an_unknown_socket_closes_with_4404(proxy: ProxyHandle) -> None:
    async with browser_socket(proxy_url(proxy), "/plugIt/nowhere") as socket:
        assert (await closed_with(socket))[0] == 4404


async def test_an_idle_socket_is_closed(proxy_factory: ProxyFactory, service: LiveServer) -> None:
    handle = proxy_factory(service.url, live=True, upstream=replace(UPSTREAM, ws_idle_timeout=0.5))
    async with browser_socket(proxy_url(handle), "/plugIt/echo") as socket:
        await socket.recv()
        code, reason = await closed_with(socket)
    assert code == 1001
    assert "idle" in (reason or "")
    with pytest.raises(ConnectionClosed):
        await socket.send("too late")


async def test_a_socket_has_a_request_id_from_the_handshake_to_the_service_and_the_log(
    proxy: ProxyHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestContextFilter())  # what the proxy's log handlers carry
    path = "/plugIt/whoami"
    forged = {"X-Request-ID": "chosen-by-the-browser"}  # not trusted here: replaced
    with caplog.at_level(logging.INFO, logger="plugit_proxy.pipeline"):
        async with browser_socket(proxy_url(proxy), path, headers=forged) as socket:
            assert socket.response is not None
            answered = socket.response.headers["X-Request-ID"]
            seen = json.loads(await socket.recv())
        assert await eventually(lambda: len(lines_of(caplog, path)) == 2)
    assert answered != forged["X-Request-ID"]
    assert len(answered) == 32  # a new id
    assert seen == {"request": answered, "current": answered}  # request_id, and log lines'
    opened, closed = lines_of(caplog, path)
    assert opened.getMessage().startswith(f"WebSocket on {path} opened to http://")
    assert closed.getMessage() == f"WebSocket on {path} closed: the browser closed it (1000)"
    assert opened.request_id == closed.request_id == answered  # type: ignore[attr-defined]


async def test_a_refused_socket_logs_its_request_id(
    proxy: ProxyHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestContextFilter())
    with caplog.at_level(logging.INFO, logger="plugit_proxy.pipeline"):
        async with browser_socket(proxy_url(proxy), "/plugIt/members") as socket:
            assert socket.response is not None
            answered = socket.response.headers["X-Request-ID"]
            assert (await closed_with(socket))[0] == 4403
    (refused,) = lines_of(caplog, "/plugIt/members")
    assert "closed at once: 4403" in refused.getMessage()
    assert refused.request_id == answered  # type: ignore[attr-defined]


def lines_of(caplog: pytest.LogCaptureFixture, path: str) -> list[logging.LogRecord]:
    """The proxy's log lines about the socket at `path`."""
    return [r for r in caplog.records if r.getMessage().startswith(f"WebSocket on {path} ")]

"""Meta, templates and pages in cache (section 4 steps 1, 3, 5, 7), counted on a real service."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit import Service
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit_proxy.cache import DiskCache, RedisCache

from .conftest import ProxyFactory, as_user
from .services import Counting, build_demo_service
from .test_live import start_proxy, stop

REDIS_URL = os.environ.get("PLUGIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def count_of(html: str) -> str:
    found = re.search(r"id='count'>(\d+)<", html)
    assert found
    return found.group(1)


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Counting, LiveServer]]:
    """The demo service behind a call counter, on its own socket."""
    counting = Counting(build_demo_service(str(tmp_path_factory.mktemp("counted"))))
    with LiveServer(counting) as server:
        yield counting, server


async def test_steady_state_costs_one_upstream_call(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    counting, server = counted
    handle = proxy_factory(server.url, menu_action=None)
    await handle.app.startup()
    assert (await handle.client.get("/plugIt/public")).status_code == 200
    before = dict(counting.calls)
    for _ in range(5):
        assert (await handle.client.get("/plugIt/public")).status_code == 200
    assert counting.count("meta") == before.get("meta", 0)
    assert counting.count("template") == before.get("template", 0)
    assert counting.count("action") == before["action"] + 5


async def test_concurrent_misses_are_coalesced(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    counting, server = counted
    handle = proxy_factory(server.url, menu_action=None)
    await handle.app.startup()
    before = dict(counting.calls)
    responses = await asyncio.gather(*(handle.client.get("/plugIt/logged") for _ in range(20)))
    assert {r.status_code for r in responses} == {403}  # anonymous; the meta was needed
    assert counting.count("meta") == before.get("meta", 0) + 1
    await as_user(handle.client, "log")
    responses = await asyncio.gather(*(handle.client.get("/plugIt/logged") for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert counting.count("template") == before.get("template", 0) + 1
    assert counting.count("action") == before.get("action", 0) + 20


async def test_shared_page_cache(proxy: httpx.AsyncClient) -> None:
    first = count_of((await proxy.get("/plugIt/cached")).text)
    assert count_of((await proxy.get("/plugIt/cached")).text) == first
    # The query is part of the key.
    assert count_of((await proxy.get("/plugIt/cached?x=1")).text) != first


async def test_restricted_page_with_null_by_user_is_cached_per_user(
    proxy: httpx.AsyncClient,
) -> None:
    await as_user(proxy, "log")
    logged = (await proxy.get("/plugIt/cached_restricted")).text
    assert "id='who'>logged<" in logged
    assert count_of((await proxy.get("/plugIt/cached_restricted")).text) == count_of(logged)
    await as_user(proxy, "mem")
    member = (await proxy.get("/plugIt/cached_restricted")).text
    assert "id='who'>member<" in member
    assert count_of(member) != count_of(logged)


async def test_user_info_page_with_null_by_user_is_cached_per_user(
    proxy: httpx.AsyncClient,
) -> None:
    await as_user(proxy, "log")
    logged = (await proxy.get("/plugIt/cached_userinfo")).text
    assert "id='name'>logged<" in logged
    await as_user(proxy, "mem")
    member = (await proxy.get("/plugIt/cached_userinfo")).text
    assert "id='name'>member<" in member  # never the cache entry made for "logged"
    assert count_of(member) != count_of(logged)


async def test_template_reading_the_user_is_cached_per_user(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "log")
    logged = (await proxy.get("/plugIt/cached")).text  # its template shows ebuio_u.username
    assert "id='who'>logged<" in logged
    assert count_of((await proxy.get("/plugIt/cached")).text) == count_of(logged)
    await as_user(proxy, "adm")
    admin = (await proxy.get("/plugIt/cached")).text
    assert "id='who'>admin<" in admin
    assert count_of(admin) != count_of(logged)


async def test_page_that_reads_no_user_is_shared(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "log")
    logged = count_of((await proxy.get("/plugIt/cached_plain")).text)
    await as_user(proxy, "adm")
    assert count_of((await proxy.get("/plugIt/cached_plain")).text) == logged


async def test_explicit_by_user_false_shares_a_page_with_user_info(
    proxy: httpx.AsyncClient,
) -> None:
    await as_user(proxy, "log")
    logged = count_of((await proxy.get("/plugIt/cached_userinfo_shared")).text)
    await as_user(proxy, "adm")
    assert count_of((await proxy.get("/plugIt/cached_userinfo_shared")).text) == logged


async def test_cache_by_user_false_is_shared_but_the_layout_is_not(
    proxy: httpx.AsyncClient,
) -> None:
    await as_user(proxy, "log")
    logged = (await proxy.get("/plugIt/cached_shared")).text
    await as_user(proxy, "adm")
    admin = (await proxy.get("/plugIt/cached_shared")).text
    assert count_of(admin) == count_of(logged)
    # The header (user name) and the CSRF token are never taken from the cache entry.
    assert "Signed in as <strong>admin</strong>" in admin
    assert "Signed in as <strong>logged</strong>" not in admin


async def test_page_cache_is_per_organisation(proxy: httpx.AsyncClient) -> None:
    first = count_of((await proxy.get("/plugIt/cached")).text)
    await proxy.get("/plugIt/ebuio_setOrga?pk=-4&name=CNN")
    assert count_of((await proxy.get("/plugIt/cached")).text) != first


async def test_new_template_tag_is_picked_up_at_once(
    proxy_factory: ProxyFactory, tmp_path: Path
) -> None:
    (tmp_path / "templates").mkdir()
    template = tmp_path / "templates" / "t.html"
    template.write_text("version one")
    svc = Service(root=tmp_path, settings=Settings(debug=True))  # meta max-age 0

    @svc.action("/", template="t.html")
    def home(request: object) -> dict[str, str]:
        return {}

    with LiveServer(svc) as server:
        handle = proxy_factory(server.url, menu_action=None)
        await handle.app.startup()
        assert (await handle.client.get("/plugIt/")).text == "version one"
        template.write_text("version two")
        assert (await handle.client.get("/plugIt/")).text == "version two"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.redis
async def test_redis_cache_backend(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    if not redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must be reachable on CI")
        pytest.skip("Redis is not running")
    counting, server = counted
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"plugit-test-{os.getpid()}-{id(counted)}"})
    await cache.aset("probe", {"a": 1}, 30)
    assert await cache.aget("probe") == {"a": 1}
    assert await cache.aadd("probe", 2, 30) is False
    assert await cache.ahas_key("probe")
    assert await cache.adelete("probe")
    handle = proxy_factory(server.url, cache=cache, menu_action=None)
    await handle.app.startup()
    first = count_of((await handle.client.get("/plugIt/cached?redis=1")).text)
    page_calls = ("meta", "template", "action")  # health probes (ping, version) may come any time
    before = [counting.count(endpoint) for endpoint in page_calls]
    # A second process shares the cache: a new proxy app finds the meta, template and page there.
    other = proxy_factory(server.url, cache=cache, menu_action=None)
    await other.app.startup()
    assert count_of((await other.client.get("/plugIt/cached?redis=1")).text) == first
    assert [counting.count(endpoint) for endpoint in page_calls] == before


async def test_sessions_in_the_cache_engine(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    """With PLUGIT_REDIS_URL, sessions use Django's cache engine: its async path must work."""
    from django.contrib.sessions.backends.cache import SessionStore

    from plugit_proxy.sessions import SessionManager

    handle = proxy_factory(demo_service.url)
    handle.app.runtime.sessions = SessionManager(store_class=SessionStore)
    await handle.app.startup()
    await as_user(handle.client, "adm")
    assert len(handle.client.cookies["sessionid"]) == 32  # a key, not signed data
    assert "Signed in as <strong>admin</strong>" in (await handle.client.get("/plugIt/")).text


class Peers:
    """Wrap a service's app: note the proxy-side port of every action call's connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ports: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/action/"):
            self.ports.append(scope["client"][1])
        await self.app(scope, receive, send)


def fetch_concurrently(url: str, count: int) -> list[httpx.Response]:
    """GET `url` `count` times, eight at a time, each on a new connection."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(
            pool.map(lambda _: httpx.get(url, headers={"Connection": "close"}), range(count))
        )


def test_the_workers_of_a_proxy_share_one_page_cache(
    tmp_path: Path, counted: tuple[Counting, LiveServer]
) -> None:
    """`plugit proxy` with two worker processes: a @cache page reaches the service once."""
    counting, _ = counted
    peers = Peers(counting)
    data_dir = tmp_path / "data"
    with LiveServer(peers) as service:
        process, url = start_proxy(service.url, data_dir, PLUGIT_WORKERS="2")
        try:
            # Each worker keeps its own pooled connection to the service: two ports seen on
            # uncached pages mean both workers answer. Which worker accepts a connection is the
            # kernel's choice, so requests go several at a time, in batches, until both did.
            for _ in range(20):
                fetch_concurrently(url + "/plugIt/public", 16)
                if len(set(peers.ports)) >= 2:
                    break
            assert len(set(peers.ports)) >= 2
            first = httpx.get(url + "/plugIt/cached?workers=2", headers={"Connection": "close"})
            before = counting.count("action")
            pages = [first, *fetch_concurrently(url + "/plugIt/cached?workers=2", 48)]
        finally:
            stop(process)
    assert {page.status_code for page in pages} == {200}
    assert len({count_of(page.text) for page in pages}) == 1
    assert counting.count("action") == before  # every later page came from the cache
    assert (data_dir / "cache").is_dir()  # the cache lives in this proxy's data folder


async def test_disk_cache_is_shared_by_its_instances(tmp_path: Path) -> None:
    """Two DiskCache objects on one folder (as two processes) see each other's entries."""
    one = DiskCache(str(tmp_path), {"OPTIONS": {"size_limit": 2**20}})
    two = DiskCache(str(tmp_path), {"OPTIONS": {"size_limit": 2**20}})
    await one.aset("page", "<p>cached</p>", 30)
    assert await two.aget("page") == "<p>cached</p>"
    assert await two.aadd("page", "other", 30) is False
    assert await two.ahas_key("page")
    await one.aset("gone", "x", 0)  # a timeout of 0: not kept
    assert await two.aget("gone", "missing") == "missing"
    assert await two.adelete("page")
    assert await one.aget("page") is None
    await one.aclose()
    await two.aclose()

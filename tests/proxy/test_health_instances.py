"""Health-checked instances over real sockets: killed instances, stale pages, versions, load.

Service instances are real processes (killed with SIGKILL) or real servers on port 0; the
proxy runs in-process (lifespan driven), its prober probing them on a short interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from plugit.protocol import PATH_VERSION
from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig
from plugit_proxy.health import Health, Status
from plugit_proxy.pipeline.pagecache import STALE_NOTE

from .conftest import ProxyFactory, ProxyHandle
from .services import answer_lifespan

SCRIPT = str(Path(__file__).with_name("health_processes.py"))

HEALTH = UpstreamConfig(
    connect_timeout=1.0,
    timeout=5.0,
    health_interval=0.2,
    probe_timeout=1.0,
    eject_after=2,
    eject_backoff=0.5,
    eject_max_backoff=1.0,
    stale_if_error=300,
)


class Instance:
    """A service instance in its own process, on a fixed port (so it can come back)."""

    def __init__(self, name: str, port: int, runner: Any) -> None:
        self.name = name
        self.port = port
        self.runner = runner  # tests/conftest.py run_server_process
        self.url = f"http://127.0.0.1:{self.port}/"
        self._stack = contextlib.ExitStack()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Instance:
        argv = [sys.executable, SCRIPT, "service", str(self.port), self.name]
        self.process = self._stack.enter_context(
            self.runner(argv, cwd=Path.cwd(), url=self.url + "ping")
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye, the port simply stops answering."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def instances(
    free_port: Callable[[], int], server_process: Any
) -> Iterator[Callable[[str], Instance]]:
    started: list[Instance] = []

    def start(name: str) -> Instance:
        instance = Instance(name, free_port(), server_process).start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.close()


async def until(check: Callable[[], bool], what: str, patience: float = 30) -> None:
    """Poll `check` until true (a loaded machine may take its time)."""
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"still not {what} after {patience} s")
        await asyncio.sleep(0.05)


def status_of(handle: ProxyHandle, url: str) -> Status | None:
    found = health_of(handle).get(url)
    return None if found is None else found.status


def health_of(handle: ProxyHandle) -> Health:
    return handle.app.runtime.upstream.health


async def started_proxy(
    proxy_factory: ProxyFactory, urls: tuple[str, ...], upstream: UpstreamConfig = HEALTH
) -> ProxyHandle:
    handle = proxy_factory(urls[0], service_urls=urls, upstream=upstream, menu_action=None)
    await handle.app.startup()
    return handle


async def test_an_instance_killed_under_load_costs_no_page(
    proxy_factory: ProxyFactory, instances: Callable[[str], Instance]
) -> None:
    one, two = instances("one"), instances("two")
    handle = await started_proxy(proxy_factory, (one.url, two.url))
    await until(lambda: status_of(handle, two.url) is Status.UP, "probed")
    answers: list[tuple[int, str]] = []
    stop = asyncio.Event()

    async def load() -> None:
        while not stop.is_set():
            page = await handle.client.get("/plugIt/live")
            answers.append((page.status_code, page.text))

    workers = [asyncio.create_task(load()) for _ in range(4)]
    await until(lambda: len(answers) >= 40, "loaded")
    two.kill()
    killed_at = len(answers)
    await until(lambda: status_of(handle, two.url) is Status.EJECTED, "ejected")
    await until(lambda: len(answers) >= killed_at + 40, "loaded after the kill")
    stop.set()
    await asyncio.gather(*workers)

    assert {status for status, _ in answers} == {200}  # no failed page, before or after
    whose = [text for _, text in answers[killed_at + 10 :]]
    assert all("<p id='who'>one</p>" in text for text in whose)  # only the live one now
    assert any("<p id='who'>two</p>" in text for _, text in answers[:killed_at])


async def test_probes_alone_take_a_dead_instance_out_and_bring_it_back(
    proxy_factory: ProxyFactory, instances: Callable[[str], Instance]
) -> None:
    one, two = instances("one"), instances("two")
    handle = await started_proxy(proxy_factory, (one.url, two.url))
    await until(lambda: status_of(handle, two.url) is Status.UP, "probed")
    two.kill()  # no page asked: only the probes can tell
    await until(lambda: status_of(handle, two.url) is Status.EJECTED, "ejected")
    found = health_of(handle).get(two.url)
    assert found is not None
    assert "probe(s) failed in a row" in found.reason
    two.start()  # back on the same port
    await until(lambda: status_of(handle, two.url) is Status.UP, "back in rotation")
    seen = {(await handle.client.get("/plugIt/live")).text.count("two") for _ in range(6)}
    assert 1 in seen  # it serves pages again


async def test_every_instance_down_is_a_503_at_once_and_cached_pages_go_stale(
    proxy_factory: ProxyFactory, instances: Callable[[str], Instance]
) -> None:
    one, two = instances("one"), instances("two")
    handle = await started_proxy(proxy_factory, (one.url, two.url))
    fresh = await handle.client.get("/plugIt/")  # cached for 1 s, kept 300 s more if stale
    assert fresh.status_code == 200
    assert "Warning" not in fresh.headers
    assert (await handle.client.get("/plugIt/live")).status_code == 200  # never cached
    one.kill()
    two.kill()
    await until(
        lambda: {status_of(handle, one.url), status_of(handle, two.url)} == {Status.EJECTED},
        "ejected",
    )
    await asyncio.sleep(1.1)  # past the page's cache time
    stale = await handle.client.get("/plugIt/")
    assert stale.status_code == 200
    assert stale.headers["Warning"] == '110 - "Response is Stale"'
    assert STALE_NOTE in stale.text
    assert "<p id='who'>" in stale.text
    assert "plugit-header" in stale.text  # in the layout, under its header
    down = await handle.client.get("/plugIt/live")
    assert down.status_code == 503  # refused without calling: nothing to wait for
    assert "temporarily unavailable" in down.text
    assert "plugit-header" in down.text


async def test_a_stale_page_is_served_when_the_last_instance_dies_between_probes(
    proxy_factory: ProxyFactory, instances: Callable[[str], Instance]
) -> None:
    one = instances("one")
    slow_probes = UpstreamConfig(
        connect_timeout=1.0, timeout=5.0, health_interval=60, eject_after=5, stale_if_error=300
    )
    handle = await started_proxy(proxy_factory, (one.url,), slow_probes)
    assert (await handle.client.get("/plugIt/")).status_code == 200
    one.kill()
    await asyncio.sleep(1.1)
    stale = await handle.client.get("/plugIt/")  # still in rotation: the call itself fails
    assert stale.status_code == 200
    assert STALE_NOTE in stale.text
    assert stale.headers["Warning"].startswith("110")
    never_cached = await handle.client.get("/plugIt/live")
    assert never_cached.status_code == 502


def versioned_service(version: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A service that answers `ping`, and `version` with this protocol version."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = b'{"data": ""}'
        if scope["path"] == "/" + PATH_VERSION:
            body = b'{"result": "Ok", "version": "%s", "protocol": "EBUio-PlugIt"}' % (
                version.encode()
            )
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def test_an_instance_speaking_another_protocol_version_is_refused(
    proxy_factory: ProxyFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    with LiveServer(versioned_service("2")) as server:
        url = server.url + "/"
        handle = await started_proxy(proxy_factory, (url,))
        await until(lambda: status_of(handle, url) is Status.REFUSED, "refused")
        page = await handle.client.get("/plugIt/")
        assert page.status_code == 503
        await handle.app.shutdown()
    logged = [line for line in capfd.readouterr().err.splitlines() if "refused:" in line]
    assert len(logged) == 1  # one clear line, not one per probe
    assert url in logged[0]
    assert "protocol version 2, this proxy speaks version 1" in logged[0]


async def test_an_instance_speaking_our_version_is_taken(proxy_factory: ProxyFactory) -> None:
    with LiveServer(versioned_service("1")) as server:
        url = server.url + "/"
        handle = await started_proxy(proxy_factory, (url,))
        await until(lambda: status_of(handle, url) is Status.UP, "probed")
        await handle.app.shutdown()


class Delayed:
    """A service app that waits `delay` seconds before every action, and counts them."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], delay: float):
        self.app = app
        self.delay = delay
        self.actions = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/action/"):
            self.actions += 1
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


async def test_a_slow_instance_gets_fewer_calls_under_concurrency(
    proxy_factory: ProxyFactory, demo_root: str
) -> None:
    from .services import build_demo_service

    fast = Delayed(build_demo_service(demo_root), 0.0)
    slow = Delayed(build_demo_service(demo_root), 0.5)
    with LiveServer(fast) as quick, LiveServer(slow) as sluggish:
        urls = (quick.url + "/", sluggish.url + "/")
        handle = await started_proxy(proxy_factory, urls)
        assert (await handle.client.get("/plugIt/public")).status_code == 200  # meta cached
        fast.actions = slow.actions = 0

        async def walk() -> None:
            for _ in range(6):
                assert (await handle.client.get("/plugIt/public")).status_code == 200

        await asyncio.gather(*(walk() for _ in range(8)))
    assert fast.actions + slow.actions == 48
    # Round robin would give each half; least outstanding sends most to the quick one.
    assert slow.actions < fast.actions / 2


async def test_ties_go_round_robin(proxy_factory: ProxyFactory, demo_root: str) -> None:
    from .services import build_demo_service

    first = Delayed(build_demo_service(demo_root), 0.0)
    second = Delayed(build_demo_service(demo_root), 0.0)
    with LiveServer(first) as one, LiveServer(second) as two:
        handle = await started_proxy(proxy_factory, (one.url + "/", two.url + "/"))
        assert (await handle.client.get("/plugIt/public")).status_code == 200
        first.actions = second.actions = 0
        for _ in range(10):  # one at a time: always a tie
            assert (await handle.client.get("/plugIt/public")).status_code == 200
    assert (first.actions, second.actions) == (5, 5)


def test_health_settings() -> None:
    from plugit.exceptions import ConfigurationError
    from plugit_proxy.conf import load_configuration

    config = load_configuration(
        environ={
            "PLUGIT_HEALTH_INTERVAL": "2",
            "PLUGIT_HEALTH_TIMEOUT": "0.5",
            "PLUGIT_HEALTH_PROBES": "false",
            "PLUGIT_EJECT_AFTER": "4",
            "PLUGIT_EJECT_BACKOFF": "3",
            "PLUGIT_EJECT_MAX_BACKOFF": "60",
            "PLUGIT_STALE_IF_ERROR": "90",
        }
    ).upstream
    assert (config.health_interval, config.probe_timeout, config.health_probes) == (2, 0.5, False)
    assert (config.eject_after, config.eject_backoff, config.eject_max_backoff) == (4, 3, 60)
    assert config.stale_if_error == 90
    with pytest.raises(ConfigurationError, match="PLUGIT_EJECT_AFTER='-1'"):
        load_configuration(environ={"PLUGIT_EJECT_AFTER": "-1"})

"""Development mode in front of a service that restarts on every edit (`plugit dev`).

While it restarts the service refuses connections; by default a development proxy then takes
nothing out of rotation and opens no circuit, so the page after the restart is served at once.
Its media forwarding says `no-store`: an edited CSS file shows on the next reload. Real
processes and servers on real sockets. (Without development mode, instances are still ejected:
tests/proxy/test_health_instances.py and test_breaker.py.)
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugit import Service
from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application
from plugit_proxy.conf import load_configuration
from plugit_proxy.config import UpstreamConfig
from plugit_proxy.health import Status

from .conftest import fresh_cache, make_config

SCRIPT = str(Path(__file__).with_name("health_processes.py"))

RunProcess = Callable[..., contextlib.AbstractContextManager[subprocess.Popen[str]]]


def dev_upstream(**environ: str) -> UpstreamConfig:
    """The upstream settings `plugit dev` gets from the configuration (PLUGIT_DEV on)."""
    return load_configuration(environ={"PLUGIT_DEV": "1", **environ}).upstream


def test_development_mode_never_ejects_nor_opens_a_circuit_by_default() -> None:
    production = load_configuration(environ={}).upstream
    assert (production.eject_after, production.breaker_failures) == (3, 5)
    assert (dev_upstream().eject_after, dev_upstream().breaker_failures) == (0, 0)
    flagged = load_configuration({"PLUGIT_DEV": True}, environ={}).upstream  # `--dev`
    assert (flagged.eject_after, flagged.breaker_failures) == (0, 0)
    # What the developer set explicitly stays theirs.
    chosen = dev_upstream(PLUGIT_EJECT_AFTER="2", PLUGIT_UPSTREAM_BREAKER_FAILURES="4")
    assert (chosen.eject_after, chosen.breaker_failures) == (2, 4)


class Instance:
    """The service as `plugit dev` runs it: a process on a fixed port, stopped and restarted."""

    def __init__(self, port: int, runner: RunProcess) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.runner = runner
        self._running: contextlib.ExitStack | None = None

    def start(self) -> None:
        """Start the process; return once it answers its ping."""
        self._running = contextlib.ExitStack()
        argv = [sys.executable, SCRIPT, "service", str(self.port), "edited"]
        self._running.enter_context(self.runner(argv, cwd=Path.cwd(), url=self.url + "ping"))

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None


@pytest.fixture
def instance(free_port: Callable[[], int], server_process: RunProcess) -> Iterator[Instance]:
    started = Instance(free_port(), server_process)
    started.start()
    yield started
    started.stop()


@pytest.fixture
async def dev_proxy(instance: Instance) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A development proxy on a real socket, its upstream settings from the configuration."""
    upstream = replace(dev_upstream(), connect_timeout=1.0, timeout=5.0)
    config = replace(make_config(instance.url, upstream=upstream, menu_action=None), dev=True)
    app = build_application(config, cache=fresh_cache())
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            yield app, client


async def test_the_page_after_a_restart_is_served_at_once(
    instance: Instance, dev_proxy: tuple[Any, httpx.AsyncClient]
) -> None:
    app, client = dev_proxy
    first = await client.get("/plugIt/live")
    assert first.status_code == 200
    assert "<p id='who'>edited</p>" in first.text
    instance.stop()  # the developer saved: the service restarts
    defaults = UpstreamConfig()
    refused = [
        (await client.get("/plugIt/live")).status_code
        for _ in range(defaults.eject_after + defaults.breaker_failures + 2)
    ]
    assert set(refused) == {502}  # "could not be reached", never "temporarily unavailable"
    found = app.runtime.upstream.health.get(instance.url)
    assert found is None or found.status is not Status.EJECTED
    instance.start()  # back on the same port
    after = await client.get("/plugIt/live")
    assert after.status_code == 200
    assert "<p id='who'>edited</p>" in after.text


def media_service(root: Path) -> Service:
    (root / "media").mkdir(parents=True)
    (root / "media" / "style.css").write_text("body { color: red; }")
    return Service(root=str(root))  # media kept an hour by browsers (PI_MEDIA_CACHE)


@pytest.mark.parametrize("dev", [True, False], ids=["dev", "production"])
async def test_development_mode_media_are_never_kept_by_browsers(tmp_path: Path, dev: bool) -> None:
    with LiveServer(media_service(tmp_path)) as service:
        config = replace(make_config(service.url), dev=dev)
        with LiveServer(build_application(config, cache=fresh_cache())) as proxy:
            async with httpx.AsyncClient(base_url=proxy.url, timeout=15) as client:
                before = await client.get("/plugIt/media/style.css")
                (tmp_path / "media" / "style.css").write_text("body { color: blue; }")
                after = await client.get("/plugIt/media/style.css")
    assert (before.status_code, after.status_code) == (200, 200)
    assert (before.text, after.text) == ("body { color: red; }", "body { color: blue; }")
    expected = "no-store" if dev else "public, max-age=3600"
    assert before.headers["cache-control"] == after.headers["cache-control"] == expected

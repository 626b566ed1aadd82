"""Two proxy processes sharing Redis agree on which instances are up.

Process 1 probes and ejects quickly; process 2 never probes and would need a thousand
failures of its own to eject anything: it can only learn of a dead instance from process 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_caching import redis_reachable

SCRIPT = str(Path(__file__).with_name("health_processes.py"))
REDIS_URL = os.environ.get("PLUGIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"still not {what} after {timeout} s")
        time.sleep(0.05)


class Proxy:
    """A proxy process of tests/proxy/health_processes.py, its output in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text()

    def answers(self, url: str) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            return False
        return True

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.redis
def test_two_proxy_processes_agree_on_what_is_up(
    free_port: Callable[[], int], spawn_server: Callable[..., Any], tmp_path: Path
) -> None:
    if not redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must be reachable on CI")
        pytest.skip("Redis is not running")
    ports = [free_port() for _ in range(4)]
    one, two = (f"http://127.0.0.1:{port}/" for port in ports[:2])
    services = [
        spawn_server([sys.executable, SCRIPT, "service", str(port), name], cwd=Path.cwd(), url=url)
        for port, name, url in ((ports[0], "one", one + "ping"), (ports[1], "two", two + "ping"))
    ]
    prefix = f"health-test-{uuid.uuid4().hex}"
    common = {"PLUGIT_HEALTH_INTERVAL": "0.2", "PLUGIT_EJECT_BACKOFF": "60"}
    proxies: list[Proxy] = []
    try:
        for port, extra in (
            (ports[2], {"PLUGIT_EJECT_AFTER": "2"}),
            (ports[3], {"PLUGIT_EJECT_AFTER": "1000", "PLUGIT_HEALTH_PROBES": "false"}),
        ):
            argv = [sys.executable, SCRIPT, "proxy", str(port), REDIS_URL, prefix, one, two]
            proxies.append(Proxy(argv, {**common, **extra}, tmp_path / f"proxy{port}.log"))
        for port, proxy in zip(ports[2:], proxies, strict=True):
            url = f"http://127.0.0.1:{port}/plugIt/live"
            wait_for(lambda proxy=proxy, url=url: proxy.answers(url), "up")  # type: ignore[misc]
        agree(services, proxies, two, f"http://127.0.0.1:{ports[3]}/plugIt/live")
    finally:
        for proxy in proxies:
            proxy.stop()


def agree(services: list[Any], proxies: list[Proxy], two: str, follower_url: str) -> None:
    """Kill instance two: process 1 ejects it, process 2 learns it and never calls it."""

    services[1].kill()  # SIGKILL
    services[1].wait()
    wait_for(lambda: f"instance {two} taken out of rotation" in proxies[0].output(), "ejected")
    wait_for(lambda: f"instance {two} is ejected" in proxies[1].output(), "told")

    pages = [httpx.get(follower_url, timeout=10) for _ in range(12)]
    assert {page.status_code for page in pages} == {200}
    assert all("<p id='who'>one</p>" in page.text for page in pages)
    follower = proxies[1].output()
    assert "retrying" not in follower  # it never sent a call to the dead instance
    assert "upstream failure" not in follower
    assert "probe" not in follower.split(f"instance {two} is ejected")[0]  # it never probed

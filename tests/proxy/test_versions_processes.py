"""Routing by identity over real processes: `python -m plugit_proxy` with its flags.

The proxy runs as a developer starts it (`--service`, `--version`, `--route`), with two
worker processes, so a user's side must be the same whichever process answers; two real
services (`prod`, `dev`) say which they are on every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.versionrouting import percent_position
from versioned_services_kit import build_version_service

VERSION = re.compile(r"<p id='version'>(\w+)</p>")
SHARE = 30
READY_TIMEOUT = 120.0
VISITORS = 1000


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("process-versions")
    with (
        LiveServer(build_version_service(root / "prod", "prod")) as prod,
        LiveServer(build_version_service(root / "dev", "dev")) as dev,
    ):
        yield {"prod": prod.url, "dev": dev.url}


@pytest.fixture(scope="module")
def proxy_url(
    services: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[..., int],
) -> Iterator[str]:
    """`plugit proxy` with a users rule first, then a sticky 30 % split; two workers."""
    workdir = tmp_path_factory.mktemp("proxy")
    port = free_port()
    argv = [sys.executable, "-m", "plugit_proxy", "--port", str(port), "--workers", "2"]
    argv += ["--data-dir", str(workdir / "data"), "--service", services["prod"]]
    argv += ["--version", f"dev={services['dev']}"]
    argv += ["--route", "dev=users:logged", "--route", f"dev=percent:{SHARE}"]
    log = workdir / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=workdir, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(process, url + "/plugIt/ebuio_setUser?mode=ano", log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _clean_env() -> dict[str, str]:
    """This environment without the test process's own PLUGIT_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll until the proxy answers (its first start migrates a database: be patient)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the proxy exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"the proxy did not answer within {READY_TIMEOUT} s:\n{log.read_text()}")


def side_of(client: httpx.Client) -> str:
    page = client.get("/plugIt/")
    assert page.status_code == 200, page.text
    found = VERSION.search(page.text)
    assert found is not None, page.text
    return found.group(1)


@contextlib.contextmanager
def signed_in(url: str, mode: str) -> Iterator[httpx.Client]:
    """A browser-like client as the simulated user of `mode`."""
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get(f"/plugIt/ebuio_setUser?mode={mode}").status_code == 302
        yield client


def test_user_a_on_dev_and_user_b_on_production_for_the_same_url(proxy_url: str) -> None:
    with signed_in(proxy_url, "log") as logged, signed_in(proxy_url, "mem") as member:
        # Many requests: each may reach either worker; the side never changes.
        assert {side_of(logged) for _ in range(6)} == {"dev"}  # `users:logged`
        assert {side_of(member) for _ in range(6)} == {"prod"}  # outside the 30 %


def test_percent_sides_of_signed_in_users_are_the_same_in_every_process(proxy_url: str) -> None:
    for mode, pk in (("mem", -2), ("adm", -3)):
        expected = "dev" if percent_position("standalone", "dev", f"user:{pk}") < SHARE else "prod"
        with signed_in(proxy_url, mode) as client:
            assert {side_of(client) for _ in range(6)} == {expected}


def test_percent_splits_a_thousand_visitors_within_five_points(proxy_url: str) -> None:
    sides = asyncio.run(_visit(proxy_url, VISITORS))
    share = 100 * sum(side == "dev" for side, _ in sides) / VISITORS
    assert SHARE - 5 <= share <= SHARE + 5, share
    # Sticky: a visitor coming back (their session cookie) lands on the same side.
    again = asyncio.run(_revisit(proxy_url, sides[:60]))
    assert again == [side for side, _ in sides[:60]]


async def _visit(url: str, count: int) -> list[tuple[str, dict[str, str]]]:
    """Send `count` first-time visitors; give each one's side and cookies."""
    gate = asyncio.Semaphore(8)
    # One connection pool; a client per visitor only for its cookies (a client of its own
    # would build an SSL context each: most of the time this test would take).
    async with httpx.AsyncHTTPTransport() as transport:

        async def one() -> tuple[str, dict[str, str]]:
            async with gate:
                client = httpx.AsyncClient(base_url=url, timeout=60, transport=transport)
                page = await client.get("/plugIt/")
                found = VERSION.search(page.text)
                assert found is not None, page.text
                return found.group(1), dict(client.cookies)

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _revisit(url: str, visitors: list[tuple[str, dict[str, str]]]) -> list[str]:
    async def one(cookies: dict[str, str]) -> str:
        async with httpx.AsyncClient(base_url=url, timeout=60, cookies=cookies) as client:
            page = await client.get("/plugIt/")
            found = VERSION.search(page.text)
            assert found is not None, page.text
            return found.group(1)

    return [await one(cookies) for _, cookies in visitors]


def test_percent_of_a_thousand_users_is_sticky_across_interpreters() -> None:
    """The split of users 1..1000 is within five points and the same under any hash seed."""
    here = [percent_position("alpha", "dev", f"user:{pk}") < SHARE for pk in range(1, 1001)]
    assert SHARE - 5 <= 100 * sum(here) / len(here) <= SHARE + 5
    script = (
        "import json; from plugit_proxy.versionrouting import percent_position as p; "
        f"print(json.dumps([p('alpha', 'dev', f'user:{{k}}') < {SHARE} for k in range(1, 1001)]))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(done.stdout) == here


def test_a_bad_route_flag_is_one_clear_line(tmp_path: Path, free_port: Callable[..., int]) -> None:
    argv = [sys.executable, "-m", "plugit_proxy", "--service", "http://127.0.0.1:9"]
    argv += ["--port", str(free_port()), "--data-dir", str(tmp_path / "data")]
    argv += ["--version", "dev=http://127.0.0.1:10", "--route", "dev=user:alice"]
    done = subprocess.run(
        argv, env=_clean_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "plugit: error: PLUGIT_ROUTES (--route): 'user:alice' is not a rule: use "
        "users:NAME,NAME | orgas:CODOPS,CODOPS | admins | members | percent:N | opt-in"
    ]

"""Fuzz the routes of a standalone proxy and of a hosted platform with hostile requests.

Bounded and repeatable (hypothesis, derandomized): the same few hundred requests every run,
straight into the ASGI application (fast) and a smaller sample over a real socket. Every
answer must be free of tracebacks, and no 5xx is allowed except for a route whose service is
made to fail (its own 500, a broken template, an abort with a 5xx), where the proxy answers
500/502/503/504. The requests are described in fuzz_routes_kit.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from fuzz_routes_kit import (
    PLATFORM_HOSTS,
    PLATFORM_PREFIXES,
    Probe,
    call_asgi,
    call_socket,
    fuzz,
    probes,
)
from plugit.testing import LiveServer
from plugit_proxy.asgi import ProxyApplication, build_application
from proxy.conftest import fresh_cache, make_config
from proxy.services import build_demo_service

sys.path.insert(0, str(Path(__file__).parent / "platform" / "web"))

from plugit_origins_kit import origins_platform
from plugit_platform_launch import Platform

PROXY_PREFIXES = [
    "/", "/plugIt/", "/plugIt", "/plugIt/echo", "/plugIt/form", "/plugIt/logged", "/plugIt/admin",
    "/plugIt/cached", "/plugIt/cached_userinfo", "/plugIt/redirect", "/plugIt/file",
    "/plugIt/setsession", "/plugIt/getsession", "/plugIt/etag", "/plugIt/cors", "/plugIt/xml",
    "/plugIt/notemplate", "/plugIt/include", "/plugIt/getuser", "/plugIt/blank",
    "/plugIt/userinfo_post", "/plugIt/raise", "/plugIt/abort/500", "/plugIt/abort/503",
    "/plugIt/abort/404", "/plugIt/broken", "/plugIt/ebuio_api/", "/plugIt/ebuio_api/user/",
    "/plugIt/ebuio_api/orgas/", "/plugIt/ebuio_api/mail/", "/plugIt/ebuio_setUser",
    "/plugIt/ebuio_setOrga", "/plugIt/media/", "/plugIt/ping", "/plugIt/meta/",
    "/plugIt/template/", "/static/", "/static/plugit/", "/admin/", "/accounts/login/",
]  # fmt: skip
PROXY_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# The demo service's routes made to fail: the proxy turns them into its error pages.
FAILING_ROUTES = ("/plugIt/raise", "/plugIt/abort/", "/plugIt/broken")


def service_may_fail(probe: Probe) -> bool:
    return probe.path.startswith(FAILING_ROUTES)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(build_demo_service(str(tmp_path_factory.mktemp("fuzz-demo")))) as server:
        yield server


@pytest.fixture
def proxy_app(demo: LiveServer) -> ProxyApplication:
    return build_application(make_config(demo.url), cache=fresh_cache())


async def signed_in_cookie(app: ProxyApplication) -> str:
    """The session cookie of a simulated admin (so the fuzz reaches restricted pages too)."""
    probe = Probe("GET", "/plugIt/ebuio_setUser", b"mode=adm", (), b"")
    captured: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            captured.extend(value for name, value in message["headers"] if name == b"set-cookie")

    scope = {
        "type": "http",
        "method": probe.method,
        "path": probe.path,
        "raw_path": probe.path.encode(),
        "query_string": probe.query,
        "headers": [(b"host", b"testserver"), (b"sec-fetch-site", b"same-origin")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(scope, receive, send)
    cookies = [raw.decode("latin-1").split(";", 1)[0] for raw in captured]
    assert any(cookie.startswith("sessionid=") for cookie in cookies), captured
    return "; ".join(cookies)


def test_fuzz_the_standalone_proxy_in_process(proxy_app: ProxyApplication) -> None:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(proxy_app.startup())
    try:
        cookie = loop.run_until_complete(signed_in_cookie(proxy_app))
        fuzz(
            lambda probe: loop.run_until_complete(call_asgi(proxy_app, probe)),
            probes(PROXY_PREFIXES, PROXY_HOSTS, cookie.split("; ")),
            may_fail=service_may_fail,
            examples=250,
        )
    finally:
        loop.run_until_complete(proxy_app.shutdown())
        loop.close()


def test_fuzz_the_standalone_proxy_over_a_socket(proxy_app: ProxyApplication) -> None:
    with LiveServer(proxy_app) as server:
        port = int(server.url.rsplit(":", 1)[1])
        fuzz(
            lambda probe: call_socket(port, probe),
            probes(PROXY_PREFIXES, PROXY_HOSTS, ["sessionid=" + "b" * 32]),
            may_fail=service_may_fail,
            examples=80,
        )


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform with an origin per project (projects with pages, files, proxy mode)."""
    with origins_platform(tmp_path_factory.mktemp("fuzz-platform")) as running:
        yield running


def test_fuzz_the_platform_in_process(platform: Platform) -> None:
    """The platform's ASGI application, built in a process of its own (its own settings)."""
    kit = Path(__file__).parent / "fuzz_routes_kit.py"
    env = {**platform.env, "PLUGIT_MODE": "platform", "PLUGIT_LOG_LEVEL": "ERROR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(kit.parent), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(kit), "platform", "200"],
        env=env,
        cwd=Path(platform.env["PLUGIT_DATA_DIR"]).parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no 5xx, no traceback" in done.stdout


def test_fuzz_the_platform_over_a_socket(platform: Platform) -> None:
    port = int(platform.url.rsplit(":", 1)[1])
    fuzz(
        lambda probe: call_socket(port, probe),
        probes(PLATFORM_PREFIXES, PLATFORM_HOSTS, ["sessionid=" + "c" * 32]),
        may_fail=lambda probe: False,
        examples=80,
    )
    # Nothing failed inside either (Django's own DisallowedHost log lines are 400s).
    assert "Exception in ASGI application" not in platform.output
    assert "Internal Server Error" not in platform.output

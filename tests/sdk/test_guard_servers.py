"""The network guard under real servers: uvicorn's proxy headers and root path can't fool it.

uvicorn trusts `X-Forwarded-For` from loopback by default (`--proxy-headers`,
`--forwarded-allow-ips 127.0.0.1`) and `--root-path` prefixes every request's path: the guard
must judge the real peer and the path the router dispatches on, or refuse to start.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from plugit import Request, Service
from plugit.settings import parse_networks
from plugit.testing import LiveServer

from .helpers import make_service

SPOOF = {"X-Forwarded-For": "10.9.9.9"}
GUARDED = [
    ("GET", "/ping?data=x"),
    ("POST", "/mail"),
    ("GET", "/meta/"),
    ("GET", "/template/"),
    ("GET", "/action/"),
]


def guarded_service(root: Path, networks: list[str]) -> Service:
    service = make_service(root, allowed_networks=parse_networks(networks))

    @service.action("/", template="home.html")
    def home(request: Request) -> dict[str, str]:
        return {"remote_addr": request.remote_addr}

    return service


def call(url: str, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    data = {"response_id": "1"} if path == "/mail" else None
    return httpx.request(method, url + path, data=data, headers=headers)


@pytest.fixture
def served() -> Iterator[list[LiveServer]]:
    """Servers a test started, stopped when it ends."""
    servers: list[LiveServer] = []
    yield servers
    for server in servers:
        server.stop()


def serve(servers: list[LiveServer], app: object, **config: object) -> str:
    server = LiveServer(app, **config)  # type: ignore[arg-type]
    servers.append(server)
    return server.start().url


# -- the way `plugit serve` and `Service.run()` start uvicorn -------------------------------------
def test_a_spoofed_forwarded_for_is_judged_on_the_real_peer(tmp_path, served) -> None:
    url = serve(served, guarded_service(tmp_path, ["127.0.0.1/32"]), proxy_headers=False)
    for method, path in GUARDED:
        assert call(url, method, path, SPOOF).status_code == 200, path
    assert call(url, "GET", "/action/", SPOOF).json() == {"remote_addr": "127.0.0.1"}


def test_a_loopback_caller_cannot_pass_as_an_allowed_network(tmp_path, served) -> None:
    url = serve(served, guarded_service(tmp_path, ["10.0.0.0/8"]), proxy_headers=False)
    for method, path in GUARDED:
        answer = call(url, method, path, SPOOF)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path


# -- uvicorn's defaults: proxy headers on, trusted from loopback ---------------------------------
def test_uvicorn_with_proxy_headers_refuses_to_start(tmp_path, caplog) -> None:
    server = LiveServer(guarded_service(tmp_path, ["10.0.0.0/8"]), proxy_headers=True)
    try:
        with (
            caplog.at_level(logging.ERROR, logger="plugit.service"),
            pytest.raises(RuntimeError, match="failed to start"),
        ):
            server.start()
    finally:
        server.stop()
    assert "--no-proxy-headers" in caplog.text
    assert "PI_USE_PROXY_IP" in caplog.text


def test_the_uvicorn_command_refuses_with_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "app.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            from plugit import Service, Settings

            service = Service(
                "svc",
                root=Path(__file__).parent,
                settings=Settings(allowed_networks=["10.0.0.0/8"]),
            )
            """
        )
    )
    command = [sys.executable, "-m", "uvicorn", "app:service", "--port", "0"]
    done = subprocess.run(
        command, cwd=tmp_path / "svc", capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3, done.stderr  # uvicorn's exit code for a failed start-up
    assert "X-Forwarded-For" in done.stderr
    assert "uvicorn --no-proxy-headers" in done.stderr


def test_without_lifespan_forwarded_calls_are_refused(tmp_path, served, caplog) -> None:
    # No lifespan, so no start-up to refuse: a call whose peer uvicorn may have rewritten
    # from the header fails closed; calls without the header are judged on their real peer.
    allowed = serve(
        served,
        guarded_service(tmp_path / "a", ["127.0.0.1/32"]),
        proxy_headers=True,
        lifespan="off",
    )
    private = serve(
        served,
        guarded_service(tmp_path / "b", ["10.0.0.0/8"]),
        proxy_headers=True,
        lifespan="off",
    )
    with caplog.at_level(logging.ERROR, logger="plugit.service"):
        for method, path in GUARDED:
            assert call(private, method, path, SPOOF).status_code == 404, path
            assert call(private, method, path).status_code == 404, path
            assert call(allowed, method, path).status_code == 200, path
            assert call(allowed, method, path, SPOOF).status_code == 404, path
    assert call(allowed, "GET", "/action/").json() == {"remote_addr": "127.0.0.1"}
    assert "--no-proxy-headers" in caplog.text


# -- a root path: uvicorn's --root-path, or a parent app's Mount ---------------------------------
def test_root_path_cannot_skip_the_guard(tmp_path, served) -> None:
    url = serve(
        served, guarded_service(tmp_path, ["10.0.0.0/8"]), proxy_headers=False, root_path="/svc"
    )
    for method, path in [*GUARDED, ("GET", "/svc/ping"), ("GET", "/svc/meta/")]:
        answer = call(url, method, path)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path
    assert call(url, "GET", "/version").status_code == 200


def test_root_path_serves_allowed_callers(tmp_path, served) -> None:
    url = serve(
        served, guarded_service(tmp_path, ["127.0.0.1/32"]), proxy_headers=False, root_path="/svc"
    )
    for method, path in GUARDED:
        assert call(url, method, path).status_code == 200, path
    assert call(url, "GET", "/action/").json() == {"remote_addr": "127.0.0.1"}


def test_a_mounted_service_keeps_its_guard(tmp_path, served) -> None:
    parent = Starlette(routes=[Mount("/svc", app=guarded_service(tmp_path, ["10.0.0.0/8"]))])
    url = serve(served, parent, proxy_headers=False)
    for method, path in GUARDED:
        answer = call(url, method, "/svc" + path)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path
    assert call(url, "GET", "/svc/version").status_code == 200

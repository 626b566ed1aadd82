"""The proxy on its own real socket (uvicorn), in front of real services: what a browser sees."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plugit.testing import LiveServer

from .conftest import ProxyFactory


async def test_browser_session_over_sockets(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, live=True)
    client = handle.client
    home = await client.get("/plugIt/")
    assert home.status_code == 200
    assert "Hello stranger" in home.text
    switched = await client.get("/plugIt/ebuio_setUser?mode=mem", follow_redirects=True)
    assert "Hello member" in switched.text
    menu = await client.get("/plugIt/menubar")  # its template's own menubar block
    assert "Menu for member" in menu.text
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', switched.text)
    assert token
    posted = await client.post(
        "/plugIt/form", data={"thing": "over the wire", "csrfmiddlewaretoken": token.group(1)}
    )
    assert "id='posted'>over the wire<" in posted.text
    assert (await client.post("/plugIt/form", data={"thing": "x"})).status_code == 403
    file = await client.get("/plugIt/file")
    assert file.content == b"the report"
    media = await client.get("/plugIt/media/style.css")
    assert media.text == "body { color: red; }"
    static = await client.get("/static/plugit_proxy/layout.css")
    assert static.status_code == 200
    api = await client.get("/plugIt/ebuio_api/user/-3")
    assert api.json()["username"] == "admin"
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/plugIt/"


async def test_refused_service_over_sockets(proxy_factory: ProxyFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handle = proxy_factory(f"http://127.0.0.1:{port}", live=True)
    response = await handle.client.get("/plugIt/")
    assert response.status_code == 502
    assert "Service unavailable" in response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_proxy(
    service_url: str, data_dir: Path, **env_extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m plugit_proxy` on a free port; return it once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "DJANGO_"))}
    env.update(PLUGIT_DATA_DIR=str(data_dir), PLUGIT_WORKERS="1", PLUGIT_LOG_LEVEL="warning")
    env.update(env_extra)
    command = [sys.executable, "-m", "plugit_proxy", "--service", service_url, "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, cwd=data_dir.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/plugIt/", timeout=2)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the proxy did not start:\n{output}")
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(10)
    if process.stdout:
        process.stdout.close()


def test_zero_setup_command(tmp_path: Path, demo_service: LiveServer) -> None:
    """`python -m plugit_proxy --service URL` makes its data dir, migrates, and serves."""
    data_dir = tmp_path / "data"
    process, url = start_proxy(demo_service.url, data_dir)
    try:
        response = httpx.get(url + "/plugIt/")
        assert response.status_code == 200
        assert "Hello stranger" in response.text
        assert httpx.get(url + "/").headers["location"] == "/plugIt/"
        assert (data_dir / "db.sqlite3").stat().st_size > 0
        assert len((data_dir / "secret_key").read_text()) > 40
    finally:
        stop(process)


@pytest.mark.redis
def test_several_workers_share_sessions_in_redis(tmp_path: Path, demo_service: LiveServer) -> None:
    """With PLUGIT_REDIS_URL, two worker processes see the same sessions and cache."""
    from .test_caching import REDIS_URL, redis_reachable

    if not redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must be reachable on CI")
        pytest.skip("Redis is not running")
    process, url = start_proxy(
        demo_service.url, tmp_path / "data", PLUGIT_WORKERS="2", PLUGIT_REDIS_URL=REDIS_URL
    )
    try:
        with httpx.Client(base_url=url) as client:
            client.get("/plugIt/ebuio_setUser?mode=adm")
            assert len(client.cookies["sessionid"]) == 32  # a key into Redis
            for _ in range(10):  # new connections: both workers answer some
                page = client.get("/plugIt/", headers={"Connection": "close"})
                assert "Signed in as <strong>admin</strong>" in page.text
    finally:
        stop(process)


def test_missing_service_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "DJANGO_"))}
    env["PLUGIT_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "plugit_proxy"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "plugit_proxy.E001" in result.stderr
    assert "PLUGIT_SERVICE_URL" in result.stderr

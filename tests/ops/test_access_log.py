"""One access log for `plugit proxy` and `plugit platform serve`: the same line, one switch."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
from plugit_platform_launch import apply, free_port, serving

from .conftest import ops_platform_env
from .ops_kit import closed_port_url, platform_file, wait_for


@contextlib.contextmanager
def plugit_proxy(service_url: str, workdir: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """`plugit proxy --service <service_url>` on a free port: its URL and its output file."""
    port = free_port()
    output = workdir / "proxy.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}
    environ.update(PLUGIT_DATA_DIR=str(workdir / "data"), PYTHONUNBUFFERED="1", **env)
    command = [sys.executable, "-m", "plugit", "proxy", "--service", service_url]
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=workdir, env=environ, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url + "/healthz"), "plugit proxy to answer", timeout=60)
        yield url, output
    finally:
        process.terminate()
        process.wait(15)


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(url, timeout=1).status_code == 200
    return False


def test_plugit_proxy_logs_each_request_with_its_id(service_url: str, tmp_path: Path) -> None:
    with plugit_proxy(service_url, tmp_path, PLUGIT_ACCESS_LOG="true") as (url, output):
        # Not trusted by default: the proxy makes its own id.
        answer = httpx.get(url + "/plugIt/who", headers={"X-Request-ID": "from-the-browser"})
        assert answer.status_code == 200
        given = answer.headers["x-request-id"]
        assert given != "from-the-browser"
        assert f"id={given}" in answer.text
        line = re.compile(
            rf'INFO plugit_proxy\.access \[{given}\]: 127\.0\.0\.1 "GET /plugIt/who" 200 '
            rf"[\d.]+ ms standalone {re.escape(service_url)}"
        )
        wait_for(lambda: line.search(output.read_text()) is not None, "the access log line")


def test_the_platform_access_log_can_be_switched_off(tmp_path: Path, service_url: str) -> None:
    env = ops_platform_env(tmp_path, PLUGIT_ACCESS_LOG="false")
    apply(env, tmp_path, platform_file(service_url, closed_port_url()))
    marker = "switched-off-" + tmp_path.name
    with serving(env, tmp_path) as platform:
        assert httpx.get(platform.url + f"/p/alpha/who?{marker}").status_code == 200
        assert httpx.get(platform.url + "/healthz").status_code == 200
    output = platform.output  # the platform has stopped: every line it wrote is there
    assert "PlugIt platform: http" in output  # it did write, and all of it is read
    assert marker not in output
    assert "plugit_proxy.access" not in output

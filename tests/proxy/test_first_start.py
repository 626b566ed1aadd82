"""Two `plugit proxy` processes started at once in one fresh folder: both come up and serve."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from plugit.testing import LiveServer

STARTED_WITHIN = 60.0


def proxy_command(service_url: str, port: int) -> list[str]:
    return [sys.executable, "-m", "plugit", "proxy", "--service", service_url, "--port", str(port)]


def wait_for_page(process: subprocess.Popen[bytes], url: str) -> httpx.Response:
    """The page at `url` once the process answers; fail with its output if it dies first."""
    deadline = time.monotonic() + STARTED_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the proxy exited with {process.returncode}:\n{output}")
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"nothing answered at {url} within {STARTED_WITHIN} s")


def test_two_proxies_start_at_once_in_one_fresh_folder(
    tmp_path: Path, demo_service: LiveServer, free_port: Callable[..., int]
) -> None:
    data_dir = tmp_path / "data"  # does not exist yet: both processes make it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "DJANGO_"))}
    env.update(PLUGIT_DATA_DIR=str(data_dir), PLUGIT_WORKERS="1", PLUGIT_LOG_LEVEL="warning")
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            proxy_command(demo_service.url, port),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        pages = [
            wait_for_page(process, f"http://127.0.0.1:{port}/plugIt/")
            for process, port in zip(processes, ports, strict=True)
        ]
        for page in pages:
            assert page.status_code == 200
            assert "Hello stranger" in page.text
        # One secret key for both: a session signed by one proxy is good for the other.
        first, second = (f"http://127.0.0.1:{port}/plugIt/" for port in ports)
        with httpx.Client() as browser:
            browser.get(first + "ebuio_setUser?mode=adm")
            assert "Hello admin" in browser.get(second).text
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
            if process.stdout:
                process.stdout.close()

"""Fixtures shared by every test folder: free ports and real server processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for servers that cannot bind port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_until_answering(process: subprocess.Popen[str], url: str, timeout: float = 15) -> None:
    """Poll `url` until it answers; fail loudly (with the output) if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = _output_of(process)
            pytest.fail(f"the server exited with {process.returncode} before answering:\n{output}")
        try:
            httpx.get(url, timeout=0.5)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    process.kill()
    pytest.fail(f"nothing answered at {url} within {timeout} s")


_outputs: dict[int, tempfile._TemporaryFileWrapper[str]] = {}


def _output_of(process: subprocess.Popen[str]) -> str:
    log = _outputs.get(process.pid)
    if log is None:
        return ""
    log.seek(0)
    return log.read()


@contextlib.contextmanager
def run_server_process(
    argv: Sequence[str], *, cwd: Path, url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """Run `argv` in `cwd` until the block ends, once `url` answers.

    `python` in argv[0] means this interpreter (the one with the project installed). The
    output goes to a temporary file, shown when the server dies before answering.
    """
    command = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]
    with tempfile.NamedTemporaryFile("w+", prefix="server-", suffix=".log") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _outputs[process.pid] = log
        try:
            wait_until_answering(process, url)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            del _outputs[process.pid]


@pytest.fixture
def spawn_server() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`spawn_server(argv, cwd=..., url=..., env=...)`: a server process for one test."""
    with contextlib.ExitStack() as stack:

        def spawn(argv: Sequence[str], **options: Any) -> subprocess.Popen[str]:
            return stack.enter_context(run_server_process(argv, **options))

        yield spawn


@pytest.fixture(scope="session")
def free_port() -> Callable[..., int]:
    """`free_port(host="127.0.0.1")`: a port nobody listens on right now."""
    return find_free_port


@pytest.fixture(scope="session")
def server_process() -> Callable[..., contextlib.AbstractContextManager[subprocess.Popen[str]]]:
    """`with server_process(argv, cwd=..., url=...)`: for module-scoped server fixtures."""
    return run_server_process

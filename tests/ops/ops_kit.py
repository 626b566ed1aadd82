"""What the operations tests run: a service that shows and logs its request id, a platform
in front of it (and of a dead instance), a Redis of their own, a TCP relay to PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from plugit_platform_launch import free_port, require
from starlette.websockets import WebSocket

from plugit import Service
from plugit.requestid import RequestIdFilter
from plugit.settings import Settings
from plugit.utils import cache, public

BASE = '{% extends "plugIt/base.html" %}'
PAGE = BASE + "{% block content %}<p id='text'>{{ text }}</p>{% endblock %}"
KEY = "ops-key-" + "k" * 32
SERVICE_LOGGER = "ops.service"
UNSTUCK = threading.Event()  # set: `/stuck` answers at once


class Collected(logging.Handler):
    """The service's log records, with the request id the SDK's filter gave them."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ids_of(self, message: str) -> list[str]:
        return [r.request_id for r in self.records if r.getMessage() == message]


def build_service(root: Path) -> Service:
    """`/` (cached 60 s), `/who` (its request id, logged), `/stuck` (hangs until `UNSTUCK`),
    `/boom` (raises), and a WebSocket `/socket` (sends its request id, logged)."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "page.html").write_text(PAGE)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))
    log = logging.getLogger(SERVICE_LOGGER)

    @svc.action("/", template="page.html")
    @public()
    @cache(time=60)
    def home(request: Any) -> dict[str, Any]:
        return {"text": "home"}

    @svc.action("/who", template="page.html")
    @public()
    def who(request: Any) -> dict[str, Any]:
        log.info("who was asked")
        return {"text": f"id={request.request_id}"}

    @svc.action("/stuck", template="page.html")
    @public()
    def stuck(request: Any) -> dict[str, Any]:
        UNSTUCK.wait(60)  # until the test lets it answer
        return {"text": "unstuck"}

    @svc.websocket("/socket")
    async def socket(websocket: WebSocket, request: Any) -> None:
        log.info("socket opened")
        await websocket.accept()
        await websocket.send_text(request.request_id)
        await websocket.receive()

    @svc.action("/boom", template="page.html")
    @public()
    def boom(request: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    return svc


def platform_file(live: str, dead: str) -> str:
    return f"""
[[projects]]
slug = "alpha"
name = "Alpha"
services = ["{live}"]
orga_mode = false
api_key_env = "OPS_KEY"

[[projects]]
slug = "dead"
name = "Dead"
services = ["{dead}"]
orga_mode = false
"""


def closed_port_url() -> str:
    """A service URL nobody answers at."""
    return f"http://127.0.0.1:{free_port()}/"


def scrape(url: str, **headers: str) -> dict[str, float]:
    """Read /metrics into {"name{labels}": value} (labels sorted as printed)."""
    answer = httpx.get(url + "/metrics", headers=headers, timeout=15)
    assert answer.status_code == 200, answer.text
    samples = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """The value of `name` with exactly `labels` (0 when absent)."""
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and set(re.findall(r'\w+="[^"]*"', rest)) == wanted:
            return value
    return 0.0


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextlib.contextmanager
def redis_server(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own on `port` (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        require("redis-server is not installed")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _accepts(port), f"redis-server on port {port}")
        yield process
    finally:
        process.kill()
        process.wait()


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


class Relay:
    """A TCP relay from a local port to `target`: stopping it cuts every connection."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, 5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

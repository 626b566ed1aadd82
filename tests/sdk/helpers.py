"""Helpers for the SDK tests: a service folder, raw ASGI calls and raw HTTP over a socket.

httpx normalises paths (`/a/../b` becomes `/b`) and always frames bodies correctly, so the
tests that need a literal `..`, raw query bytes, a chunked body or a lying Content-Length use
these instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from plugit import Service, Settings

TEMPLATE_TEXT = "{% extends 'plugIt/base.html' %}{% block content %}Hi {{ name }}{% endblock %}\n"


def service_folder(root: Path) -> Path:
    """Write a service folder: templates/ (one template), media/ and a secret beside them."""
    (root / "templates" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "home.html").write_text(TEMPLATE_TEXT, encoding="utf-8")
    (root / "templates" / "sub" / "nested.html").write_text("nested ✓\n", encoding="utf-8")
    (root / "media" / "css").mkdir(parents=True, exist_ok=True)
    (root / "media" / "css" / "site.css").write_text("body { color: red; }\n")
    (root / "media" / "logo.txt").write_text("logo\n")
    (root / "config.py").write_text("SECRET = 'do not serve me'\n")
    (root / "files").mkdir(exist_ok=True)
    (root / "files" / "report.csv").write_bytes(b"a,b\n1,2\n")
    return root


def make_service(root: Path, **settings: Any) -> Service:
    """A service over a fresh service folder with the given settings."""
    return Service("test-service", root=service_folder(root), settings=Settings(**settings))


@dataclasses.dataclass
class RawAnswer:
    """What an ASGI app or a raw socket answered."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header_list(self, name: str) -> list[str]:
        """Every value of a header (raw answers keep repeated headers)."""
        return [value for key, value in self.raw_headers if key == name.lower()]

    raw_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)


async def asgi_request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    query: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    chunks: Iterable[bytes] = (b"",),
    client: tuple[str, int] = ("127.0.0.1", 1234),
) -> RawAnswer:
    """Call an ASGI app with a hand-built scope (path taken literally, body sent in chunks)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": client,
        "server": ("testserver", 80),
    }
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await asyncio.sleep(3600)  # a client that never disconnects
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    raw_headers = [(k.decode().lower(), v.decode()) for k, v in start.get("headers", [])]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawAnswer(start["status"], dict(raw_headers), body, raw_headers)


async def raw_http(host: str, port: int, request: bytes) -> RawAnswer:
    """Send bytes over a socket exactly as given and parse the (Connection: close) answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    raw_headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        raw_headers.append((name.strip().lower(), value.strip()))
    return RawAnswer(int(status_line.split()[1]), dict(raw_headers), body, raw_headers)


def http_request(method: str, path: str, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The bytes of a request head (with Connection: close), path taken literally."""
    lines = [f"{method} {path} HTTP/1.1", "Host: test", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()

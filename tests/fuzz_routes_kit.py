"""Hostile requests for the route fuzz (tests/test_fuzz_routes.py), and how to send them.

A `Probe` is one request as an attacker writes it: any method, a raw path (the mount's
routes, `ebuio_*`, media, static, admin, accounts), a raw query, hostile headers (Host,
Cookie, Content-Type, X-Forwarded-For, `X-Plugit-*`), and a body that may be malformed
multipart, JSON nested 2000 deep, or latin-1. It goes either straight into an ASGI
application (as uvicorn would build the scope) or over a real socket, byte for byte.

Run as a script (`python tests/fuzz_routes_kit.py platform N`), it builds the hosted
platform of its environment in process and fuzzes it: the test starts it in a process of
its own, so the platform's Django settings never meet the standalone proxy's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/')
CALL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Probe:
    """One hostile request."""

    method: str
    path: str  # as sent: ASCII, percent-encoded
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def line(self) -> str:
        query = f"?{self.query.decode('latin-1')}" if self.query else ""
        return f"{self.method} {self.path}{query}"


# -- What the probes are made of ----------------------------------------------------------------
SEGMENTS = [
    "", "x", "..", "%2e%2e", "%2F", "%00", "%C3%A9", "%ff", "a%20b", "ebuio_api", "media",
    "static", "admin", "1", "-1", "99999999999999999999", "%3Cscript%3E", "'", "%5C", ";",
    "~", "index.html", "ebuio_setUser", "ebuio_setOrga", "ebuio_login", "ebuio_handoff",
]  # fmt: skip
QUERY_KEYS = [
    "next", "mode", "orga", "ebuio_u_username", "ebuio_orgapk", "token", "state", "value",
    "target", "page", "x", "",
]  # fmt: skip
QUERY_VALUES = [
    "", "/", "//evil.example", "https://evil.example/", "adm", "ano", "mem", "god", "1", "-1",
    "0" * 30, "é", "\x00", "a" * 300, "<script>alert(1)</script>", "{~__PLUGIT_CSRF_TOKEN__~}",
]  # fmt: skip
RAW_QUERIES = [b"%zz&&=;a=%ff", b"a=%E9", b"=", b"&&&", b"next=%0d%0aSet-Cookie:x=1", b"x" * 500]
CONTENT_TYPES = [
    "multipart/form-data", "multipart/form-data; boundary=xyz", "multipart/form-data; boundary=",
    'multipart/form-data; boundary="unclosed', "application/json",
    "application/json; charset=latin-1", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=nope",
    "text/plain; charset=utf-8", "text/html", "garbage", "",
]  # fmt: skip
FORWARDED_FOR = [
    "1.2.3.4", "junk", "1.2.3.4, 5.6.7.8", "::1", "", "999.1.1.1", "127.0.0.1, evil", ", , ,",
]  # fmt: skip
BODIES = [
    b"",
    b"{",
    b"[" * 2000 + b"]" * 2000,
    b'{"a": ' * 2000 + b"1" + b"}" * 2000,
    b'{"a": 1, "csrfmiddlewaretoken": "x"}',
    b"a=1&b=%zz&thing=x",
    b"\xe9t\xe9=\xff&thing=caf\xe9",
    b'--xyz\r\nContent-Disposition: form-data; name="thing"\r\n\r\nv\r\n--xyz--\r\n',
    b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="\xe9.txt"\r\n\r\nhi\r\n--xyz',
    b"--xyz\r\n\r\n",
    b"--xyz\r\nContent-Disposition: form-data\r\n\r\n--xyz--",
    b"--\r\n--\r\n",
    b"\x00\xff" * 50,
]
PLUGIT_HEADERS = [
    b"x-plugit-remote-addr", b"x-plugit-user", b"x-plugit-orga", b"x-plugit-project",
    b"x-plugit-csrf", b"x-plugit-base-url",
]  # fmt: skip
_LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
FREE_TEXT = st.text(_LATIN1, max_size=40)


def _path(prefix: str, segments: list[str], slash: str) -> str:
    return prefix + "/".join(segments) + slash


def _query(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


def _header(name: bytes) -> st.SearchStrategy[tuple[bytes, bytes]]:
    return st.tuples(st.just(name), FREE_TEXT.map(lambda text: text.encode("latin-1")))


def _chosen(name: bytes, values: Sequence[str]) -> st.SearchStrategy[tuple[bytes, bytes]]:
    choice = st.sampled_from(list(values)) | FREE_TEXT
    return st.tuples(st.just(name), choice.map(lambda text: text.encode("latin-1")))


def probes(
    prefixes: Sequence[str], hosts: Sequence[str], cookies: Sequence[str]
) -> st.SearchStrategy[Probe]:
    """Requests to `prefixes`, Host among `hosts`, these valid `cookies` among junk ones."""
    method = st.sampled_from(
        [
            "GET",
            "GET",
            "POST",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "HEAD",
            "OPTIONS",
            "PROPFIND",
            "get",
        ]
    )
    path = st.builds(
        _path,
        st.sampled_from(list(prefixes)),
        st.lists(st.sampled_from(SEGMENTS), max_size=3),
        st.sampled_from(["", "/"]),
    )
    pair = st.tuples(
        st.sampled_from(QUERY_KEYS) | FREE_TEXT, st.sampled_from(QUERY_VALUES) | FREE_TEXT
    )
    query = st.lists(pair, max_size=4).map(_query) | st.sampled_from(RAW_QUERIES)
    cookie_parts = [
        *cookies, "sessionid=junk", "sessionid=" + "a" * 32, "csrftoken=x",
        "csrftoken=" + "A" * 64, "=;;=", "sessionid=\xe9", "plugit-handoff=abc",
        "__Host-plugit-handoff=abc", "messages=junk",
    ]  # fmt: skip
    cookie = st.lists(st.sampled_from(cookie_parts), min_size=1, max_size=3).map("; ".join)
    optional = st.lists(
        st.one_of(
            st.tuples(st.just(b"cookie"), cookie.map(lambda text: text.encode("latin-1"))),
            _chosen(b"content-type", CONTENT_TYPES),
            _chosen(b"x-forwarded-for", FORWARDED_FOR),
            _chosen(b"x-forwarded-proto", ["https", "http", "junk"]),
            _chosen(b"authorization", ["Bearer junk", "Basic Zm9vOmJhcg==", "Bearer "]),
            _chosen(b"origin", ["https://evil.example", "null"]),
            _chosen(b"referer", ["https://evil.example/", "/"]),
            _chosen(b"sec-fetch-site", ["cross-site", "same-origin", "none"]),
            _chosen(b"x-csrftoken", ["x", "A" * 64]),
            _chosen(b"range", ["bytes=5-1", "bytes=0-", "junk"]),
            _chosen(b"if-none-match", ["*", '"v1"']),
            _chosen(b"accept-encoding", ["gzip", "br", "junk"]),
            _chosen(b"x-requested-with", ["XMLHttpRequest"]),
            st.sampled_from(PLUGIT_HEADERS).flatmap(_header),
        ),
        max_size=5,
    )
    host = _chosen(
        b"host", [*hosts, "evil.example", "", "a" * 300, "localhost:99999", "[::1]", "x..y"]
    )
    body = st.sampled_from(BODIES) | st.binary(max_size=200)
    return st.builds(_probe, method, path, query, st.lists(host, max_size=1), optional, body)


def _probe(
    method: str,
    path: str,
    query: bytes,
    host: list[tuple[bytes, bytes]],
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> Probe:
    if body:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    return Probe(method, path, query, (*host, *headers), body)


# -- Sending them -------------------------------------------------------------------------------
async def call_asgi(app: Any, probe: Probe) -> tuple[int, bytes]:
    """Send `probe` straight into an ASGI application; give the status and the whole body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": probe.method,
        "scheme": "http",
        "path": unquote(probe.path),  # what uvicorn does with the request target
        "raw_path": probe.path.encode("ascii"),
        "query_string": probe.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in probe.headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": probe.body, "more_body": False}
        await asyncio.Event().wait()  # the client stays: never a disconnect
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await asyncio.wait_for(app(scope, receive, send), CALL_TIMEOUT)
    return status, bytes(body)


def call_socket(port: int, probe: Probe) -> tuple[int, bytes]:
    """Send `probe` byte for byte over a new connection; give the status and the raw answer."""
    target = probe.path + (f"?{probe.query.decode('latin-1')}" if probe.query else "")
    head = f"{probe.method} {target} HTTP/1.1\r\n".encode("latin-1")
    headers = list(probe.headers)
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", f"127.0.0.1:{port}".encode()))
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    head += b"connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=CALL_TIMEOUT) as sock:
        sock.sendall(head + probe.body)
        answer = bytearray()
        while chunk := sock.recv(65536):
            answer.extend(chunk)
    if not answer:
        return 0, b""  # the server hung up without an answer (a malformed request)
    status_line = bytes(answer).split(b"\r\n", 1)[0]
    return int(status_line.split(b" ", 2)[1]), bytes(answer)


def check(probe: Probe, status: int, body: bytes, *, may_fail: bool) -> None:
    """No 5xx unless the probed route is made to fail, and no traceback in any answer."""
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, f"{probe.line()} -> {status} shows a traceback:\n{body[:2000]!r}"
    if status >= 500:
        allowed = may_fail and status in (500, 502, 503, 504)
        assert allowed, f"{probe.line()} -> {status}:\n{body[:1000]!r}"


def fuzz(
    send: Callable[[Probe], tuple[int, bytes]],
    strategy: st.SearchStrategy[Probe],
    *,
    may_fail: Callable[[Probe], bool],
    examples: int,
) -> None:
    """Send `examples` probes (the same ones every run) and check every answer."""

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(probe: Probe) -> None:
        status, body = send(probe)
        check(probe, status, body, may_fail=may_fail(probe))

    run()


# -- The hosted platform, in process (run by the test in a process of its own) -----------------
PLATFORM_PREFIXES = [
    "/", "/p/alpha/", "/p/beta/", "/p/files/", "/p/proxied/", "/p/alpha/ebuio_api/",
    "/p/alpha/media/", "/p/alpha/ebuio_setOrga", "/p/alpha/ebuio_login", "/ebuio_login",
    "/ebuio_handoff", "/ebuio_logout", "/media/", "/static/", "/static/plugit/", "/admin/",
    "/admin/login/", "/admin/platform/user/1/change/", "/accounts/login/", "/accounts/signup/",
    "/accounts/password/reset/", "/accounts/handoff/alpha/", "/accounts/handoff/nope/",
    "/note", "/hostile", "/file", "/bare", "/logged",
]  # fmt: skip
PLATFORM_HOSTS = ["localhost", "alpha.localhost", "beta.localhost", "files.localhost",
                  "proxied.localhost", "nope.localhost", "127.0.0.1"]  # fmt: skip


async def sign_in_asgi(app: Any, username: str, password: str) -> str:
    """Sign in through the platform's form in process; give the Cookie header it earned."""
    import re

    import httpx

    transport = httpx.ASGITransport(app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        form = await client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None, form.text
        fields = {"login": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
        answer = await client.post("/accounts/login/", data=fields)
        assert answer.status_code == 302, answer.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def fuzz_platform_in_process(examples: int) -> None:
    """Build the platform of this environment in process and fuzz its routes."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
    from plugit_proxy.asgi import build_application

    loop = asyncio.new_event_loop()
    app = build_application()
    loop.run_until_complete(app.startup())
    try:
        cookie = loop.run_until_complete(sign_in_asgi(app, "root", os.environ["PW_ROOT"]))
        fuzz(
            lambda probe: loop.run_until_complete(call_asgi(app, probe)),
            probes(PLATFORM_PREFIXES, PLATFORM_HOSTS, cookie.split("; ")),
            may_fail=lambda probe: False,
            examples=examples,
        )
    finally:
        loop.run_until_complete(app.shutdown())
        loop.close()
    print(f"fuzzed the platform in process: {examples} requests, no 5xx, no traceback")


if __name__ == "__main__":
    assert sys.argv[1] == "platform", "usage: fuzz_routes_kit.py platform EXAMPLES"
    fuzz_platform_in_process(int(sys.argv[2]))

"""The page a browser gets at a service's own root: what this is, and how to open its pages.

A service answers a proxy, not browsers, so its root was a bare 404 that told a newcomer
nothing. No protocol path is empty, so the root (and `PI_BASE_URL` itself) is free. The page
names the service and the protocol, nothing about its settings, actions or callers.
"""

from __future__ import annotations

import html
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from plugit.protocol import PROTOCOL_VERSION

__all__ = ["is_root", "welcome_response"]

# A Host header worth repeating in a command line: a name or address and an optional port.
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
FALLBACK_HOST = "127.0.0.1:5000"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{name}: a PlugIt service</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto;
  padding: 0 1rem; line-height: 1.5; color: #222; }}
pre, code {{ background: #f2f2f2; border-radius: 4px; }}
pre {{ padding: .6rem .8rem; overflow-x: auto; }}
code {{ padding: .1rem .3rem; }}
</style>
</head>
<body>
<h1>{name}</h1>
<p>This is a <strong>PlugIt service</strong> (protocol version {version}). It answers a
PlugIt proxy, not a browser: the proxy signs users in, calls the service's actions and shows
their pages inside the platform's layout.</p>
<p>To see its pages, run a proxy in front of it:</p>
<pre>plugit proxy --dev --service {url}</pre>
<p>then open <a href="http://127.0.0.1:8000/plugIt/">http://127.0.0.1:8000/plugIt/</a>.
Or run <code>plugit dev</code> in the service's folder instead of this server: it serves the
service and a proxy together. The proxy's development mode caches nothing and shows the
service's errors in its pages; start the service with <code>PLUGIT_DEBUG=1</code> and they
include its tracebacks.</p>
</body>
</html>
"""


def is_root(path: str, base_url: str) -> bool:
    """Tell whether `path` is the server's root or the service's `PI_BASE_URL`."""
    return path == "/" or path == base_url


def welcome_response(request: Request, name: str, base_url: str) -> Response:
    """The root page: the service's name and how to open it through a proxy (GET and HEAD)."""
    if request.method not in {"GET", "HEAD"}:
        return Response("Method Not Allowed", 405, {"Allow": "GET, HEAD"}, media_type="text/plain")
    host = request.headers.get("host", "")
    if not _HOST.match(host):
        host = FALLBACK_HOST
    base = request.scope.get("root_path", "") + base_url  # the URL a proxy is given
    page = PAGE.format(
        name=html.escape(name or "PlugIt service"),
        version=PROTOCOL_VERSION,
        url=html.escape(f"{request.url.scheme}://{host}{base}"),
    )
    return HTMLResponse(page)

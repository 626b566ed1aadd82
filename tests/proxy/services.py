"""Real PlugIt services (built with the SDK) and a few misbehaving servers, for the proxy tests."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from plugit import Service
from plugit.settings import Settings
from plugit.utils import (
    PlugItRedirect,
    PlugItSendFile,
    PlugItSetSession,
    abort,
    address_in_networks,
    cache,
    crossdomain,
    get_session_from_request,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    send_etag,
    user_info,
    xml_only,
)

BASE = '{% extends "plugIt/base.html" %}'

TEMPLATES = {
    "home.html": BASE
    + """{% block title %}Home{% endblock %}{% block content %}
<p id="hello">Hello {{ ebuio_u.username|default:"stranger" }}</p>
<p id="orga">{{ ebuio_orga.name }}/{{ ebuio_orga.codops }}/{{ ebuio_orga.ebu_codops }}</p>
<p id="mode">{{ ebuio_userMode }} real={{ ebuio_realUsers }} orgamode={{ ebuio_orgamode }}</p>
<p id="base">{{ ebuio_baseUrl }}|{{ MEDIA_URL }}|{{ STATIC_URL }}</p>
<p id="uid">id={{ ebuio_u.id }} pk={{ ebuio_u.pk }}</p>
<p id="orgas">{% for o in ebuio_orgas %}{{ o.codops }},{% endfor %}</p>
<p id="data">{{ greeting }}</p>
<form method="post" action="{{ ebuio_baseUrl }}form">{% csrf_token %}<input name="thing"></form>
{% endblock %}""",
    "page.html": BASE + "{% block content %}<p id='page'>{{ text }}</p>{% endblock %}",
    "counter.html": BASE
    + "{% block content %}<p id='count'>{{ count }}</p><p id='who'>{{ ebuio_u.username }}</p>"
    "{% endblock %}",
    "plain_counter.html": BASE
    + "{% block content %}<p id='count'>{{ count }}</p><p id='name'>{{ name }}</p>{% endblock %}",
    "form.html": BASE + "{% block content %}<p id='posted'>{{ posted }}</p>{% endblock %}",
    "bare.html": "<p id='bare'>bare {{ value }}</p>",
    "include.html": BASE
    + "{% load plugit_tags %}{% block content %}<div id='inc'>{% plugitInclude \"part\" %}"
    "</div>{% endblock %}",
    "part.html": "{% load plugit_tags %}<span id='part'>part {{ text }} "
    '{% plugitInclude "/deep" %}</span>',
    "deep.html": "<em id='deep'>deep {{ text }}</em>",
    "getuser.html": BASE + "{% load plugit_tags %}{% block content %}{% plugitGetUser owner as u %}"
    "<p id='owner'>{{ u.username }}|{{ u.email }}|{{ u.id }}</p>"
    "{% plugitGetUser 12345 as nobody %}<p id='nobody'>{{ nobody|default:'none' }}</p>"
    "{% endblock %}",
    "blank.html": BASE
    + "{% load plugit_tags %}{% block content %}{{ html|safe|url_target_blank }}{% endblock %}",
    "menubar.html": BASE
    + "{% block menubar %}<ul id='menu'><li>Menu for {{ ebuio_u.username|default:'guest' }}"
    "</li></ul>{% endblock %}",
    "broken.html": BASE + "{% block content %}{% if %}{% endblock %}",
    "missing_tpl.html": "",
}

counter = itertools.count(1)


def write_files(root: str, templates: dict[str, str]) -> None:
    """Write templates and media under `root`."""
    (Path(root) / "templates").mkdir(parents=True, exist_ok=True)
    (Path(root) / "media").mkdir(parents=True, exist_ok=True)
    for name, text in templates.items():
        if text:
            (Path(root) / "templates" / name).write_text(text)
    (Path(root) / "media" / "style.css").write_text("body { color: red; }")
    (Path(root) / "report.txt").write_text("the report")


def build_demo_service(root: str) -> Service:
    """A service with one action per rule the proxy must apply."""
    write_files(root, TEMPLATES)
    svc = Service(root=root, settings=Settings(meta_cache=300))

    @svc.action("/", template="home.html")
    def home(request: Any) -> dict[str, Any]:
        return {"greeting": "hi there", "ebuio_baseUrl": "/forged/"}

    @svc.action("/logged", template="page.html")
    @only_logged_user()
    def logged(request: Any) -> dict[str, Any]:
        return {"text": "logged page"}

    @svc.action("/member", template="page.html")
    @only_member_user()
    def member(request: Any) -> dict[str, Any]:
        return {"text": "member page"}

    @svc.action("/admin", template="page.html")
    @only_admin_user()
    def admin(request: Any) -> dict[str, Any]:
        return {"text": "admin page"}

    @svc.action("/orgamember", template="page.html")
    @only_orga_member_user()
    def orgamember(request: Any) -> dict[str, Any]:
        return {"text": "orga member page"}

    @svc.action("/orgaadmin", template="page.html")
    @only_orga_admin_user()
    def orgaadmin(request: Any) -> dict[str, Any]:
        return {"text": "orga admin page"}

    @svc.action("/public", template="page.html")
    @public()
    def public_page(request: Any) -> dict[str, Any]:
        return {"text": "public page"}

    @svc.action("/net", template="page.html")
    @address_in_networks(networks=["10.0.0.0/8", "fd00::/8"])
    def net(request: Any) -> dict[str, Any]:
        return {"text": "net page"}

    @svc.action("/echo", methods=["GET", "POST", "PUT", "DELETE"])
    @json_only()
    def echo(request: Any) -> dict[str, Any]:
        return {
            "method": request.method,
            "args": {k: request.args.getlist(k) for k in request.args},
            "form": {k: request.form.getlist(k) for k in request.form},
            "files": {k: request.files[k].read().decode() for k in request.files},
            "remote": request.headers.get("X-Plugit-Remote-Addr"),
            "inm": request.headers.get("X-Plugit-If-None-Match"),
            "origin": request.headers.get("X-Plugit-Origin"),
        }

    @svc.action("/userinfo")
    @json_only()
    @user_info(props=["username", "id", "ebuio_admin", "ebuio_orga_member", "email"])
    def userinfo(request: Any) -> dict[str, Any]:
        return {k: request.args.get(k) for k in request.args}

    @svc.action("/userinfo_post", methods=["POST"])
    @json_only()
    @user_info(props=["username"])
    def userinfo_post(request: Any) -> dict[str, Any]:
        return {"args": dict(request.args.items()), "form": dict(request.form.items())}

    @svc.action("/badfield", template="page.html")
    @user_info(props=["username", "password"])
    def badfield(request: Any) -> dict[str, Any]:
        return {"text": "never"}

    @svc.action("/cached", template="counter.html")
    @cache(time=60)
    def cached(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/cached_restricted", template="counter.html")
    @cache(time=60, byUser=None)
    @only_logged_user()
    def cached_restricted(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/cached_shared", template="counter.html")
    @cache(time=60, byUser=False)
    def cached_shared(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/cached_userinfo", template="plain_counter.html")
    @cache(time=60)
    @user_info(props=["username"])
    def cached_userinfo(request: Any) -> dict[str, Any]:
        return {"count": next(counter), "name": request.args.get("ebuio_u_username")}

    @svc.action("/cached_userinfo_shared", template="plain_counter.html")
    @cache(time=60, byUser=False)
    @user_info(props=["username"])
    def cached_userinfo_shared(request: Any) -> dict[str, Any]:
        return {"count": next(counter), "name": "everyone"}

    @svc.action("/cached_plain", template="plain_counter.html")
    @cache(time=60)
    def cached_plain(request: Any) -> dict[str, Any]:
        return {"count": next(counter), "name": "everyone"}

    @svc.action("/redirect")
    def redirect(request: Any) -> Any:
        return PlugItRedirect("public")

    @svc.action("/redirect_abs")
    def redirect_abs(request: Any) -> Any:
        return PlugItRedirect("https://example.org/x", no_prefix=True)

    @svc.action("/file")
    def file(request: Any) -> Any:
        return PlugItSendFile(
            str(Path(root) / "report.txt"),
            "text/plain",
            as_attachment=True,
            attachment_filename="report.txt",
        )

    @svc.action("/setsession")
    @json_only()
    def setsession(request: Any) -> Any:
        return PlugItSetSession({"stored": True}, {"color": "blue"})

    @svc.action("/getsession")
    @json_only()
    def getsession(request: Any) -> Any:
        return get_session_from_request(request)

    @svc.action("/etag")
    @json_only()
    @send_etag()
    def etag(request: Any) -> Any:
        return {"_plugit_etag": '"v1"', "value": 1}

    @svc.action("/cors", template="page.html")
    @crossdomain(origin="https://other.example", headers=["x-thing"])
    def cors(request: Any) -> Any:
        return {"text": "cors"}

    @svc.action("/abort/<int:status>")
    def aborting(request: Any, status: int) -> Any:
        abort(status)

    @svc.action("/raise")
    def raising(request: Any) -> Any:
        raise RuntimeError("boom")

    @svc.action("/xml")
    @xml_only()
    def xml(request: Any) -> Any:
        return {"xml": "<thing>1</thing>"}

    @svc.action("/notemplate", template="bare.html")
    @no_template()
    def notemplate(request: Any) -> Any:
        return {"value": 42}

    @svc.action("/form", template="form.html", methods=["GET", "POST"])
    def form(request: Any) -> Any:
        return {"posted": request.form.get("thing", "")}

    @svc.action("/include", template="include.html")
    def include(request: Any) -> Any:
        return {"text": "shared"}

    @svc.action("/part", template="part.html")
    def part(request: Any) -> Any:
        raise AssertionError("an included action is never called")

    @svc.action("/deep", template="deep.html")
    def deep(request: Any) -> Any:
        raise AssertionError("an included action is never called")

    @svc.action("/getuser", template="getuser.html")
    def getuser(request: Any) -> Any:
        return {"owner": -2}

    @svc.action("/blank", template="blank.html")
    def blank(request: Any) -> Any:
        return {"html": '<a href="https://example.org">x</a>'}

    @svc.action("/menubar", template="menubar.html")
    def menubar(request: Any) -> Any:
        return {}

    @svc.action("/broken", template="broken.html")
    def broken(request: Any) -> Any:
        return {}

    @svc.action("/slow", template="page.html")
    async def slow(request: Any) -> Any:
        await asyncio.sleep(1.5)
        return {"text": "too late"}

    return svc


class Counting:
    """Wrap a service's ASGI app and count the calls per endpoint (meta, template, action)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = scope["path"].lstrip("/").split("/")[0]
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        await self.app(scope, receive, send)

    def count(self, endpoint: str) -> int:
        return self.calls.get(endpoint, 0)


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Complete the ASGI lifespan's start-up and shutdown (for the raw services below)."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


def raw_service(meta_body: bytes, *, status: int = 200, delay: float = 0.0) -> ASGIApp:
    """A misbehaving service: every call answers `meta_body` (after `delay` seconds)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        await asyncio.sleep(delay)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": meta_body})

    return app

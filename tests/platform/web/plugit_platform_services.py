"""The SDK services behind the test platforms.

`shared` serves two projects at once (alpha and beta use its URL), so every isolation test
runs against the one case where a leak is easiest: the same service URL. `other` has the
same routes with different templates and data.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from plugit import Service
from plugit.settings import Settings
from plugit.utils import (
    PlugItSetSession,
    cache,
    get_session_from_request,
    json_only,
    only_logged_user,
    public,
    user_info,
)

BASE = '{% extends "plugIt/base.html" %}'
TEMPLATES = {
    "home.html": BASE
    + """{% block title %}{{ title }}{% endblock %}{% block content %}
<h1 id="title">{{ title }}</h1>
<p id="who">{{ ebuio_u.username|default:"stranger" }}</p>
<p id="email">[{{ ebuio_u.email }}]</p>
<p id="roles">member={{ ebuio_u.ebuio_member }} admin={{ ebuio_u.ebuio_admin }} \
orga_member={{ ebuio_u.ebuio_orga_member }} orga_admin={{ ebuio_u.ebuio_orga_admin }}</p>
<p id="orga">{{ ebuio_orga.name }}</p>
<ul id="orgas">{% for o in ebuio_orgas %}\
<li><a href="{{ ebuio_baseUrl }}ebuio_setOrga?orga={{ o.pk }}">{{ o.name }}</a></li>\
{% endfor %}</ul>
<p id="base">{{ ebuio_baseUrl }}</p>
{% endblock %}
{% block menubar %}<ul id='menu'><li>menu</li></ul>{% endblock %}""",
    "counter.html": BASE
    + "{% block content %}<p id='count'>{{ count }}</p><p id='base'>{{ ebuio_baseUrl }}</p>"
    "{% endblock %}",
    "page.html": BASE + "{% block content %}<p id='page'>{{ text }}</p>{% endblock %}",
    "menubar.html": BASE + "{% block menubar %}<ul id='menu'><li>menu</li></ul>{% endblock %}",
}
CALLS: dict[str, int] = {}  # calls of `/cached`, by service title
ALL_FIELDS = [
    "username",
    "pk",
    "email",
    "ebuio_member",
    "ebuio_admin",
    "ebuio_orga_member",
    "ebuio_orga_admin",
    "subscription_labels",
]


def build_service(root: Path, title: str) -> Service:
    """A service whose pages show what the proxy gave them."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text.replace("{{ title }}", title))
    (root / "media" / "style.css").write_text(f"/* {title} */")
    svc = Service(root=str(root), settings=Settings(meta_cache=300))
    counter = itertools.count(1)
    CALLS[title] = 0

    @svc.action("/", template="home.html")
    @public()
    def home(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/menubar", template="menubar.html")
    def menubar(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/logged", template="page.html")
    @only_logged_user()
    def logged(request: Any) -> dict[str, Any]:
        return {"text": "signed-in page"}

    @svc.action("/whoami")
    @json_only()
    @user_info(props=ALL_FIELDS)
    def whoami(request: Any) -> dict[str, Any]:
        return _user_args(request)

    @svc.action("/whoami_min")
    @json_only()
    @user_info(props=["username", "pk"])
    def whoami_min(request: Any) -> dict[str, Any]:
        return _user_args(request)

    @svc.action("/set")
    @json_only()
    def set_session(request: Any) -> Any:
        return PlugItSetSession({"set": True}, {"secret": request.args.get("value", "")})

    @svc.action("/get")
    @json_only()
    def get_session(request: Any) -> dict[str, Any]:
        return {"session": get_session_from_request(request)}

    @svc.action("/cached", template="counter.html")
    @cache(time=300, byUser=False)
    def cached(request: Any) -> dict[str, Any]:
        CALLS[title] += 1
        return {"count": next(counter)}

    return svc


def _user_args(request: Any) -> dict[str, Any]:
    """Every `ebuio_*` parameter the proxy sent, as lists (repeated ones stay repeated)."""
    names = {name for name in request.args if name.startswith("ebuio_")}
    return {name: request.args.getlist(name) for name in sorted(names)}

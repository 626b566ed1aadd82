"""Services that say which version they are: `prod`, `dev`... on every page, menu and file."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from plugit import Service
from plugit.settings import Settings
from plugit.utils import cache, public

BASE = '{% extends "plugIt/base.html" %}'
TEMPLATES = {
    "home.html": BASE + "{% block content %}<p id='version'>VERSION</p>{% endblock %}"
    "{% block menubar %}<ul id='menu'><li>VERSION-menu</li></ul>{% endblock %}",
    "counter.html": BASE + "{% block content %}<p id='version'>VERSION</p>"
    "<p id='count'>{{ count }}</p>{% endblock %}",
    "include.html": BASE + "{% load plugit_tags %}{% block content %}"
    "{% plugitInclude 'part' %}{% endblock %}",
    "part.html": "<p id='part'>VERSION-part</p>",
}


def build_version_service(root: Path, version: str) -> Service:
    """A service whose every answer names `version`."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text.replace("VERSION", version))
    (root / "media" / "which.txt").write_text(version)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))
    counter = itertools.count(1)

    @svc.action("/", template="home.html")
    @public()
    def home(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/cached", template="counter.html")
    @cache(time=300, byUser=False)
    def cached(request: Any) -> dict[str, Any]:
        return {"count": next(counter)}

    @svc.action("/include", template="include.html")
    def include(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/part", template="part.html")
    def part(request: Any) -> dict[str, Any]:
        return {}

    return svc

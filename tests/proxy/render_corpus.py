"""Templates and contexts for the fast renderer's differential test (and bench/render_bench.py).

The corpus is every template the project ships or tests with; the contexts are what pages
see (users, organisations, the CSRF value, lists, numbers, dates) plus the awkward cases
(None, missing names, HTML to escape, safe strings, objects with properties and methods).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.utils.safestring import mark_safe

from plugit.protocol import CSRF_TOKEN_PLACEHOLDER

from .services import TEMPLATES as PROXY_TEST_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
OWN_TEMPLATES = ROOT / "src" / "plugit_proxy" / "templates"
SERVICE_TEMPLATE_DIRS = (
    ROOT / "examples" / "polls" / "polls" / "templates",
    ROOT / "tests" / "compat" / "original_service" / "templates",
)
ANCHOR_PAGE = ROOT / "bench" / "fixtures" / "page.html"
HOSTILE = "<script>alert('x')</script> & \"quotes\""


def service_templates() -> Iterator[tuple[str, str]]:
    """Name and source of every service template of the corpus."""
    for folder in SERVICE_TEMPLATE_DIRS:
        for path in sorted(folder.glob("*.html")):
            yield f"{folder.parent.name}/{path.name}", path.read_text()
    for name, source in sorted(PROXY_TEST_TEMPLATES.items()):
        if source and name != "broken.html":
            yield f"tests/proxy/{name}", source
    yield "bench/fixtures/page.html", ANCHOR_PAGE.read_text()


def own_template_names() -> list[str]:
    """The names of the proxy's own templates (as its engines find them)."""
    paths = OWN_TEMPLATES.glob("*/*.html")
    return sorted(
        str(path.relative_to(OWN_TEMPLATES)) for path in paths if path.parent.name != "legacy"
    )


class Person:
    """A user object as the proxy's own templates get it: attributes, properties, methods."""

    def __init__(self, username: str, pk: int, *, authenticated: bool = True) -> None:
        self.username = username
        self.pk = pk
        self.id = pk
        self.email = f"{username}@example.org"
        self._authenticated = authenticated

    @property
    def is_authenticated(self) -> bool:
        return self._authenticated

    @property
    def broken(self) -> str:
        raise AttributeError("a property that fails")

    def full_name(self) -> str:
        return self.username.title() + " <Doe>"

    def greet(self, whom: str) -> str:  # needs an argument: invalid in a template
        return f"hello {whom}"

    def delete(self) -> str:
        return "deleted!"

    delete.alters_data = True  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return f"Person <{self.username}>"


class Orga:
    """An organisation as the header and the services see it."""

    def __init__(self, pk: int, name: str, codops: str) -> None:
        self.pk = pk
        self.id = pk
        self.name = name
        self.codops = codops
        self.ebu_codops = codops.upper()


class Factory:
    """A callable marked not to be called by templates."""

    do_not_call_in_templates = True

    def __call__(self) -> str:
        return "called"

    label = "factory & co"


def _user(name: str, pk: int, **flags: Any) -> dict[str, Any]:
    return {
        "username": name,
        "first_name": name.title(),
        "last_name": "<Doe>",
        "email": f"{name}@example.org",
        "id": str(pk),
        "pk": pk,
        "is_authenticated": True,
        "is_anonymous": False,
        "ebuio_member": flags.get("member", True),
        "ebuio_admin": flags.get("admin", False),
    }


def _items(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "name": f"Item <{n}> & co",
            "title": f"run {n}",
            "status": ("ok", "failed", "<b>x</b>")[n % 3],
            "owner": None if n % 4 == 0 else f"owner{n}",
            "url": f"/r/{n}?a=1&b=<2>",
            "score": n * 1.255,
            "price": decimal.Decimal(n) / 3,
            "stock": n % 3 != 0,
        }
        for n in range(1, count + 1)
    ]


def _polls() -> list[dict[str, Any]]:
    return [
        {"id": 1, "question": "Tea or <coffee>?", "votes": 1, "voted": True, "author": "ann"},
        {"id": 2, "question": "Why & how?", "votes": 0, "voted": False, "author": None},
        {"id": 3, "question": mark_safe("<em>Safe</em> question"), "votes": 12, "voted": False},
    ]


def full_context() -> dict[str, Any]:
    """Everything the corpus's templates print, with awkward values in it."""
    choices = [
        {
            "id": 1,
            "text": "Tea",
            "votes": 3,
            "percent": 75,
            "mine": True,
            "voters": [Person("a", 1)],
        },
        {"id": 2, "text": "<Coffee>", "votes": 1, "percent": 25.5, "mine": False, "voters": []},
    ]
    return {
        "ebuio_u": _user("alice", 7, admin=True),
        "ebuio_orga": {"pk": 3, "id": 3, "name": "Radio <One>", "codops": "r1"},
        "ebuio_orgas": [
            {"pk": 3, "name": "Radio <One>", "codops": "r1"},
            {"pk": 4, "name": "Two", "codops": "t"},
        ],
        "ebuio_baseUrl": "/p/demo/",
        "ebuio_orgamode": True,
        "ebuio_platformName": "Plat & <form>",
        "ebuio_userMode": "mem",
        "ebuio_realUsers": False,
        "csrf_token": CSRF_TOKEN_PLACEHOLDER,
        "MEDIA_URL": "/p/demo/media/",
        "STATIC_URL": "/static/",
        "title": "Runs <today>",
        "notice": HOSTILE,
        "items": _items(6),
        "polls": _polls(),
        "latest": _polls()[:2],
        "poll": {"id": 9, "question": "What?", "author": "bob", "created": "2024-05-06T10:00:00Z"},
        "choices": choices,
        "total": 4,
        "can_vote": True,
        "my_choice": 1,
        "is_admin": True,
        "error": HOSTILE,
        "errors": ["first <error>", mark_safe("<b>safe</b>")],
        "notes": [{"id": 1, "title": "A & B", "text": "line1\nline2"}],
        "choice_fields": ["", "x"],
        "min_choices": 2,
        "max_choices": 10,
        "greeting": HOSTILE,
        "text": "some <text>",
        "count": 42,
        "value": 3.5,
        "html": '<a href="/x">link</a> and <a target="_self" href="/y">other</a>',
        "owner": 7,
        "name": mark_safe("<i>safe name</i>"),
        "posted": None,
        "footer": "Footer &",
        "body": "<p>body</p>",
        "message": "Not found <here>",
        "status": 503,
        "project_name": "demo",
        "username": "alice",
        "user": Person("alice", 7),
        "orga": Orga(3, "Radio <One>", "r1"),
        "orgas": [Orga(3, "Radio <One>", "r1"), Orga(4, "Two", "t2")],
        "orga_mode": True,
        "switchable": True,
        "user_mode": "mem",
        "user_mode_label": "Member",
        "user_modes": [("ano", "Anonymous"), ("log", "Logged in"), ("mem", "Member")],
        "platform_name": "PlugIt",
        "base_url": "/p/demo/",
        "here": "/p/demo/a b?c=<d>",
        "menu": mark_safe("<ul><li>menu</li></ul>"),
        "calls": [{"method": "GET", "path": "/a", "answer": "{}"}],
        "when": datetime.datetime(2024, 5, 6, 10, 30, tzinfo=datetime.UTC),
        "day": datetime.date(2024, 5, 6),
    }


def empty_context() -> dict[str, Any]:
    """A page with nothing in it: every name missing."""
    return {}


def none_context() -> dict[str, Any]:
    """Every name of the full context set to None (or empty)."""
    return dict.fromkeys(full_context()) | {"items": [], "polls": [], "choices": []}


def anonymous_context() -> dict[str, Any]:
    """A visitor: anonymous user, no organisation, no CSRF value."""
    context = full_context()
    context.update(
        ebuio_u={
            "username": "",
            "is_authenticated": False,
            "ebuio_member": False,
            "id": "",
            "pk": None,
        },
        ebuio_orga=None,
        ebuio_orgas=[],
        csrf_token="",
        user=Person("", 0, authenticated=False),
        orga=None,
        switchable=False,
        user_mode=None,
    )
    return context


def hostile_csrf_context() -> dict[str, Any]:
    """A CSRF value that must be escaped, and the NOTPROVIDED marker's neighbour."""
    context = full_context()
    context["csrf_token"] = '"><script>x</script>'
    return context


CONTEXTS: dict[str, Callable[[], dict[str, Any]]] = {
    "full": full_context,
    "empty": empty_context,
    "none": none_context,
    "anonymous": anonymous_context,
    "hostile-csrf": hostile_csrf_context,
    "notprovided": lambda: full_context() | {"csrf_token": "NOTPROVIDED"},
}

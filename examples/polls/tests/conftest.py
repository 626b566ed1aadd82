"""Fixtures for the polls example: a fresh service and database per test, and a renderer."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
if str(EXAMPLE_DIR) not in sys.path:  # `examples` is not a package: import `polls` from here
    sys.path.insert(0, str(EXAMPLE_DIR))

from polls.service import create_service  # noqa: E402

from plugit import Service  # noqa: E402
from plugit.simulation import ANONYMOUS, SimulatedUser  # noqa: E402
from plugit.testing import ServiceClient  # noqa: E402

# A stand-in for the proxy's layout: just the blocks the polls templates fill.
BASE_TEMPLATE = (
    "<title>{% block title %}{% endblock %}</title>"
    "<nav>{% block menubar %}{% endblock %}</nav>"
    "<main>{% block content %}{% endblock %}</main>"
)
MOUNT = "/plugIt/"


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A polls service on an empty SQLite database of its own."""
    return create_service(f"sqlite:///{tmp_path / 'polls.sqlite3'}")


@pytest.fixture
def client(service: Service) -> ServiceClient:
    """The test kit's client, calling the service in-process as a proxy would."""
    return ServiceClient(service)


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A rendered page: its HTML and the words a user reads in it."""

    html: str

    @property
    def text(self) -> str:
        """Tags dropped, entities decoded, spaces collapsed."""
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", self.html)).split())


Renderer = Callable[..., Rendered]


@pytest.fixture
def render(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """Render a page's template with Django and the context the proxy adds, for a user."""
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:  # numbers render localized: Django needs settings, the proxy's
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
        os.environ.setdefault("PLUGIT_DATA_DIR", str(tmp_path_factory.mktemp("proxy-data")))
        django.setup()
    from django import template

    from plugit_proxy.templatetags.plugit_tags import INCLUDES_KEY

    engine = template.Engine(
        loaders=[("django.template.loaders.locmem.Loader", {"plugIt/base.html": BASE_TEMPLATE})],
        libraries={"plugit_tags": "plugit_proxy.templatetags.plugit_tags"},
    )
    # What `{% plugitInclude "menubar" %}` renders: the menubar action's template.
    menubar = (EXAMPLE_DIR / "polls" / "templates" / "menubar.html").read_text()
    includes = {"/menubar": engine.from_string(menubar)}

    def render_page(page: Any, user: SimulatedUser = ANONYMOUS) -> Rendered:
        assert page.status_code == 200, page.status_code
        context = {
            **(page.data or {}),
            "ebuio_u": user.fields(orga_mode=True),
            "ebuio_baseUrl": MOUNT,
            "csrf_token": "the-csrf-token",
            INCLUDES_KEY: includes,
        }
        return Rendered(engine.from_string(page.template).render(template.Context(context)))

    return render_page

"""What the registry and shadow tests share: a service app on disk, a hung listener.

`write_service(folder)` writes `app.py` and its templates: a service that says its name
(`SERVICE_NAME`) on every page, answers some routes by its `SERVICE_FLAVOUR` (how a shadow
differs from production), and has a form for unsafe requests. It is served as users serve
theirs: `plugit serve app:service`, or in this process with `LiveServer(load(folder))`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

APP = """
import os

from plugit import Service
from plugit.utils import PlugItSetSession, public

NAME = os.environ.get("SERVICE_NAME", "unnamed")
FLAVOUR = os.environ.get("SERVICE_FLAVOUR", "production")
service = Service(root=os.path.dirname(os.path.abspath(__file__)))


@service.action("/", template="page.html")
@public()
def home(request):
    return {"name": NAME, "text": "home"}


@service.action("/same", template="page.html", methods=["GET", "POST"])
@public()
def same(request):
    return {"name": "same for all", "text": "same"}


@service.action("/differs", template="page.html")
@public()
def differs(request):
    return {"name": "same for all", "text": FLAVOUR}


@service.action("/status", template="page.html")
@public()
def status(request):
    if FLAVOUR != "production":
        from plugit.utils import abort
        abort(404)
    return {"name": "same for all", "text": "found"}


@service.action("/menubar", template="menubar.html")
@public()
def menubar(request):
    return {}
"""
BASE = '{% extends "plugIt/base.html" %}'
TEMPLATES = {
    "page.html": BASE + "{% block content %}<p id='who'>{{ name }}</p><p id='text'>{{ text }}"
    "</p><form method='post'>{% csrf_token %}<button>go</button></form>{% endblock %}",
    "menubar.html": BASE + "{% block menubar %}<ul id='menu'><li>menu</li></ul>{% endblock %}",
}


def write_service(folder: Path) -> Path:
    """Write the service's app.py and templates into `folder`."""
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(APP)
    for name, text in TEMPLATES.items():
        (folder / "templates" / name).write_text(text)
    return folder


def load(folder: Path, name: str, flavour: str = "production") -> Any:
    """Import a written service in this process, as `name` with `flavour`."""
    import os

    os.environ["SERVICE_NAME"], os.environ["SERVICE_FLAVOUR"] = name, flavour
    try:
        spec = importlib.util.spec_from_file_location(f"service_{name}", folder / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        del os.environ["SERVICE_NAME"], os.environ["SERVICE_FLAVOUR"]
    return module.service


class HungListener:
    """A server that accepts connections, reads what comes, and never answers."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/"
        self.requests: list[bytes] = []  # the first bytes of each connection
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self._held.append(connection)
            connection.settimeout(5)
            with contextlib.suppress(OSError):
                self.requests.append(connection.recv(4096))

    def release(self) -> None:
        """Close the connections held so far (their callers see the connection fail)."""
        held, self._held = self._held, []
        for connection in held:
            connection.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[HungListener]:
        self._thread.start()
        try:
            yield self
        finally:
            self.socket.close()
            self.release()

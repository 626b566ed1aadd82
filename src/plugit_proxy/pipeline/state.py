"""The objects the pipeline works with: the per-process runtime and the per-request page."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.cache.backends.base import BaseCache
from starlette.requests import Request

from plugit.exceptions import PlugItError
from plugit.protocol import Meta

from ..config import Project, ProxyConfig
from ..csrf import CsrfConfig, CsrfState
from ..identity import Identity, IdentityProvider
from ..rendering import Renderer
from ..sessions import Session, SessionManager
from ..upstream import SingleFlight, Upstream
from ..versionrouting import VersionChoice

__all__ = ["LRU", "Page", "PageError", "Runtime"]

V = TypeVar("V")


class LRU(Generic[V]):
    """A small bounded mapping that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(kw_only=True)
class Runtime:
    """What every request of one process shares; owned by the ASGI application."""

    config: ProxyConfig
    upstream: Upstream
    cache: BaseCache
    renderer: Renderer
    sessions: SessionManager
    csrf: CsrfConfig
    identities: IdentityProvider
    flights: SingleFlight = field(default_factory=SingleFlight)
    headers: LRU[str] = field(default_factory=lambda: LRU(2048))
    error_pages: LRU[str] = field(default_factory=lambda: LRU(256))
    # (cache namespace, route) -> (meta, expiry as a time.time()): pipeline/meta.py
    metas: LRU[tuple[Meta, float]] = field(default_factory=lambda: LRU(4096))


@dataclass(kw_only=True)
class Page:
    """One browser request to one project."""

    runtime: Runtime
    project: Project
    request: Request
    route: str  # the action path, with its leading slash: "/show/3"
    session: Session
    identity: Identity
    csrf: CsrfState
    remote_addr: str
    # The version this request is served from (pipeline/version.py); None: the project
    # has no rules, production for everyone.
    routing: VersionChoice | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def query_string(self) -> str:
        return self.request.url.query

    @property
    def here(self) -> str:
        """The browser's path and query, to come back to after a switch."""
        query = self.query_string
        return self.request.url.path + (f"?{query}" if query else "")

    def wants_json(self) -> bool:
        return "json" in self.request.headers.get("accept", "").lower()


class PageError(PlugItError):
    """Stop the pipeline and show an error page with `status`."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(f"{status} {title}: {message}")
        self.status = status
        self.title = title
        self.message = message


def not_found(message: str = "This page does not exist.") -> PageError:
    return PageError(404, "Page not found", message)

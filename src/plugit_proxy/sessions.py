"""The browser's Django session, loaded and saved with Django's async session API.

Only the pipeline uses this module; Django's own views keep using SessionMiddleware. The
cookie (name, age, flags) follows Django's settings, read once at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from starlette.responses import Response

__all__ = ["Session", "SessionManager"]


class Session:
    """One request's session: async get/set over a Django session store."""

    def __init__(self, store: SessionBase) -> None:
        self.store = store

    async def get(self, key: str, default: Any = None) -> Any:
        return await self.store.aget(key, default)

    async def set(self, key: str, value: Any) -> None:
        await self.store.aset(key, value)

    @property
    def modified(self) -> bool:
        return bool(self.store.modified)


@dataclass(frozen=True, kw_only=True)
class SessionManager:
    """Loads sessions from the cookie and writes them back as a cookie."""

    store_class: type[SessionBase]
    cookie_name: str = "sessionid"
    cookie_age: int = 1209600
    cookie_path: str = "/"
    cookie_domain: str | None = None
    cookie_secure: bool = False
    cookie_httponly: bool = True
    cookie_samesite: str = "lax"

    @classmethod
    def from_settings(cls) -> SessionManager:
        """Read Django's session settings."""
        engine = import_module(settings.SESSION_ENGINE)
        return cls(
            store_class=engine.SessionStore,
            cookie_name=settings.SESSION_COOKIE_NAME,
            cookie_age=settings.SESSION_COOKIE_AGE,
            cookie_path=settings.SESSION_COOKIE_PATH,
            cookie_domain=settings.SESSION_COOKIE_DOMAIN,
            cookie_secure=settings.SESSION_COOKIE_SECURE,
            cookie_httponly=settings.SESSION_COOKIE_HTTPONLY,
            cookie_samesite=(settings.SESSION_COOKIE_SAMESITE or "lax").lower(),
        )

    def load(self, cookies: dict[str, str]) -> Session:
        """Open the session named by the request's cookie (loaded lazily on first read)."""
        return Session(self.store_class(cookies.get(self.cookie_name)))

    async def save(self, session: Session, response: Response) -> None:
        """Persist a modified session and set its cookie on `response`."""
        if not session.modified:
            return
        store = session.store
        if store.is_empty():
            response.delete_cookie(self.cookie_name, path=self.cookie_path)
            return
        await store.asave()
        response.set_cookie(
            self.cookie_name,
            store.session_key or "",
            max_age=self.cookie_age,
            path=self.cookie_path,
            domain=self.cookie_domain,
            secure=self.cookie_secure,
            httponly=self.cookie_httponly,
            samesite=self.cookie_samesite,  # type: ignore[arg-type]
        )

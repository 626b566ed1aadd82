"""The browser's Django session, loaded and saved with Django's async session API.

Only the pipeline uses this module; Django's own views keep using SessionMiddleware, and
`SessionManager.save` answers as its `process_response` does: the cookie's age follows the
session's own expiry (`set_expiry`), an emptied session's cookie is deleted with the domain,
path and SameSite it was set with, and a page that read the session varies on `Cookie`
(tests/proxy/test_django_parity.py holds the two together). Settings are read once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from starlette.responses import Response

from .cookies import samesite, vary_on_cookie

__all__ = ["Session", "SessionManager"]


class Session:
    """One request's session: async get/set over a Django session store."""

    def __init__(self, store: SessionBase, *, had_cookie: bool = False) -> None:
        self.store = store
        self.had_cookie = had_cookie  # the request sent a session cookie

    async def get(self, key: str, default: Any = None) -> Any:
        return await self.store.aget(key, default)

    async def set(self, key: str, value: Any) -> None:
        await self.store.aset(key, value)

    async def flush(self) -> None:
        """Delete the session and its data (its cookie goes with the answer)."""
        await self.store.aflush()

    async def cycle_key(self) -> None:
        """Keep the data under a new session key."""
        await self.store.acycle_key()

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
    cookie_samesite: str | None = "lax"
    save_every_request: bool = False

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
            cookie_samesite=samesite(settings.SESSION_COOKIE_SAMESITE),
            save_every_request=settings.SESSION_SAVE_EVERY_REQUEST,
        )

    def load(self, cookies: dict[str, str]) -> Session:
        """Open the session named by the request's cookie (loaded lazily on first read)."""
        key = cookies.get(self.cookie_name)
        return Session(self.store_class(key), had_cookie=key is not None)

    async def save(self, session: Session, response: Response) -> None:
        """Persist the session and set, refresh or delete its cookie, as SessionMiddleware."""
        store = session.store
        empty = store.is_empty()
        if session.had_cookie and empty:
            response.delete_cookie(
                self.cookie_name,
                path=self.cookie_path,
                domain=self.cookie_domain,
                secure=self.cookie_name.startswith(("__Secure-", "__Host-"))
                or self.cookie_samesite == "none",
                samesite=self.cookie_samesite,  # type: ignore[arg-type]
            )
            vary_on_cookie(response)
            return
        vary = bool(store.accessed)  # what the page shows depends on the session
        if (store.modified or self.save_every_request) and not empty:
            max_age: int | None = None
            if not await store.aget_expire_at_browser_close():
                max_age = await store.aget_expiry_age()
            if response.status_code < 500:  # as Django: a failed page keeps the old session
                await store.asave()
                self._set_cookie(response, store.session_key or "", max_age)
                vary = True
        if vary:
            vary_on_cookie(response)

    def _set_cookie(self, response: Response, key: str, max_age: int | None) -> None:
        response.set_cookie(
            self.cookie_name,
            key,
            max_age=max_age,
            expires=max_age,
            path=self.cookie_path,
            domain=self.cookie_domain,
            secure=self.cookie_secure,
            httponly=self.cookie_httponly,
            samesite=self.cookie_samesite,  # type: ignore[arg-type]
        )

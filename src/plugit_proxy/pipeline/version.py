"""Choose the version of the project a request is served from (versionrouting's rules).

Everything after this step reads `page.project`, which becomes the chosen version's
`Project`: its instances, and a cache namespace of its own for meta, templates and pages.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..versionrouting import (
    OPT_IN_SESSION_KEY,
    VISITOR_SESSION_KEY,
    choose_version,
    needs_visitor,
)
from .state import Page

__all__ = ["route_version", "set_opted_version"]


async def route_version(page: Page) -> None:
    """Serve `page` from the version its user's identity routes to."""
    project = page.project
    if not project.rules:  # the common case: one attribute read
        return
    session = page.session
    opted = _opted(await session.get(OPT_IN_SESSION_KEY)).get(project.key)
    visitor = None
    if not page.identity.user.is_authenticated and needs_visitor(project):
        visitor = await session.get(VISITOR_SESSION_KEY)
        if not isinstance(visitor, str):
            visitor = secrets.token_hex(16)
            await session.set(VISITOR_SESSION_KEY, visitor)
    page.routing = choose_version(project, page.identity, opted=opted, visitor=visitor)
    page.project = project.for_version(page.routing.version)


async def set_opted_version(page: Page, version: str | None) -> None:
    """Remember in the session the version this user opted in to (None: production)."""
    key = page.project.key
    opted = _opted(await page.session.get(OPT_IN_SESSION_KEY))
    if version is None:
        opted.pop(key, None)
    else:
        opted[key] = version
    await page.session.set(OPT_IN_SESSION_KEY, opted)


def _opted(stored: Any) -> dict[str, str]:
    if not isinstance(stored, dict):
        return {}
    return {str(key): value for key, value in stored.items() if isinstance(value, str)}

"""Steps 3 and 7: the rendered page cache.

What is cached is the service's rendered template with its side menu (a block of the same
template, in the same context), before the per-request parts of the layout (header, user,
switchers) and the CSRF token go in, so a page shared between users never carries one user's
name or token to another.
"""

from __future__ import annotations

from hashlib import sha256

from plugit.protocol import Meta

from .access import restricted
from .state import Page

__all__ = ["cache_key", "cached_page", "store_page"]


def by_user(meta: Meta) -> bool:
    """Key by user when the meta says so; when it says nothing (or null), when restricted."""
    explicit = meta.get("cache_by_user")
    return restricted(meta) if explicit is None else bool(explicit)


def cache_key(page: Page, meta: Meta, route: str | None = None) -> str | None:
    """Return the page's cache key, or None when the page must not be cached."""
    if page.method != "GET" or int(meta.get("cache_time") or 0) <= 0:
        return None
    parts = [
        page.project.cache_namespace,
        route or page.route,
        page.query_string if route is None else "",
        meta.get("template_tag", ""),
        page.project.layout,  # a layout changed on the platform is seen at once
    ]
    if by_user(meta):
        parts.append(f"user={page.identity.user.pk}")
    if page.project.orga_mode:
        orga = page.identity.orga
        parts.append(f"orga={None if orga is None else orga.pk}")
    return "plugit:page:" + sha256("\x00".join(parts).encode()).hexdigest()


async def cached_page(page: Page, key: str | None) -> str | None:
    """Return the cached render for `key`."""
    if key is None:
        return None
    found = await page.runtime.cache.aget(key)
    return found if isinstance(found, str) else None


async def store_page(page: Page, key: str | None, meta: Meta, body: str) -> None:
    """Keep a render for `cache_time` seconds."""
    if key is not None:
        await page.runtime.cache.aset(key, body, int(meta.get("cache_time") or 0))

"""Steps 3 and 7: the rendered page cache.

What is cached is the service's rendered template with its side menu (a block of the same
template, in the same context), before the per-request parts of the layout (header, user,
switchers) and the CSRF token go in, so a page shared between users never carries one user's
name or token to another. The render's random CSRF marker is kept with it: a hit fills the
same marker with the visitor's own token.

Stale-if-error (docs/routing.md): an entry is kept PLUGIT_STALE_IF_ERROR seconds past its
expiry. Fresh, it is served as always; past its expiry it is served only when the service
cannot answer (every instance out of rotation, or the call fails at the connection), with a
note in the page and a `Warning: 110` header.
"""

from __future__ import annotations

import re
import time
import weakref
from hashlib import sha256

from django.template.base import Template

from plugit.protocol import Meta

from .. import metrics
from ..rendering import include_routes
from ..tagcontext import SLOT_MARKER
from .access import restricted
from .state import Page
from .template import get_template

__all__ = [
    "STALE_HEADERS",
    "by_user",
    "cache_key",
    "cached_page",
    "page_cache_key",
    "stale_headers",
    "stale_page",
    "store_page",
]

STALE_KEY = "stale_page"  # page.extras: the expired entry, kept for an error
STALE_HEADERS = {"Warning": '110 - "Response is Stale"'}
STALE_NOTE = (
    '<div class="alert alert-warning plugit-stale" role="status">This service is not '
    "answering right now: you are seeing a saved copy of this page, which may be out of "
    "date.</div>"
)
_HEADER_SLOT = SLOT_MARKER.format("header")

# What in a template's source shows that it reads the user: the `ebuio_u` variable, or the
# tag that loads users. Matching the source errs on the safe side (a comment counts too).
_READS_USER = re.compile(r"\bebuio_u\b|\bplugitGetUser\b")
_reads_user: weakref.WeakKeyDictionary[Template, bool] = weakref.WeakKeyDictionary()


def by_user(meta: Meta) -> bool | None:
    """Say whether the meta keys the page by user; None when only the template can tell.

    An explicit `cache_by_user` decides. Absent or null, a page is per user when an only_*
    rule restricts it or `user_info` asks for user fields; otherwise the template decides.
    """
    explicit = meta.get("cache_by_user")
    if explicit is not None:
        return bool(explicit)
    if restricted(meta) or meta.get("user_info"):
        return True
    return None


def template_reads_user(template: Template) -> bool:
    """Tell whether a template reads the user (or includes templates, which might)."""
    reads = _reads_user.get(template)
    if reads is None:
        source = getattr(template, "source", "")
        reads = bool(_READS_USER.search(source)) or bool(include_routes(template))
        _reads_user[template] = reads
    return reads


async def page_cache_key(page: Page, meta: Meta) -> str | None:
    """Return the page's cache key (fetching its template when only it can tell the user)."""
    if not cacheable(page, meta):
        return None
    per_user = by_user(meta)
    if per_user is None:
        tag = meta.get("template_tag", "")
        per_user = bool(tag) and template_reads_user(
            await get_template(page.runtime, page.project, page.route, tag)
        )
    return cache_key(page, meta, per_user=per_user)


def cacheable(page: Page, meta: Meta) -> bool:
    """Only GET pages with a cache time are cached, and none in development mode."""
    return (
        page.method == "GET"
        and int(meta.get("cache_time") or 0) > 0
        and not page.runtime.config.dev
    )


def cache_key(page: Page, meta: Meta, *, per_user: bool) -> str | None:
    """Return the page's cache key, or None when the page must not be cached."""
    if not cacheable(page, meta):
        return None
    parts = [
        page.project.cache_namespace,
        page.route,
        page.query_string,
        meta.get("template_tag", ""),
        page.project.layout,  # a layout changed on the platform is seen at once
    ]
    if per_user:
        parts.append(f"user={page.identity.user.pk}")
    if page.project.orga_mode:
        orga = page.identity.orga
        parts.append(f"orga={None if orga is None else orga.pk}")
    return "plugit:page:" + sha256("\x00".join(parts).encode()).hexdigest()


async def cached_page(page: Page, key: str | None) -> tuple[str, str] | None:
    """Return the cached render for `key` and the CSRF marker it was rendered with.

    An expired entry is a miss, kept in `page.extras` for `stale_page`; served at once
    (marked stale) when no instance of the service is in rotation.
    """
    if key is None:
        return None
    found = await page.runtime.cache.aget(key)
    # An entry of another shape (an older proxy's) is a miss.
    if not (isinstance(found, tuple | list) and len(found) == 3):
        return None
    body, marker, fresh_until = found
    if not (isinstance(body, str) and isinstance(marker, str)):
        return None
    if time.time() < fresh_until:
        return body, marker
    page.extras[STALE_KEY] = (body, marker)
    upstream = page.runtime.upstream
    if any(upstream.health.usable(url) for url in page.project.service_urls):
        return None
    return stale_page(page)


def count_lookup(page: Page, key: str | None, found: tuple[str, str] | None) -> None:
    """Count a cacheable page's lookup: a hit, or a miss (a stale render is no hit)."""
    if key is not None:
        fresh = found is not None and not page.extras.get("stale")
        metrics.page_cache(page.project.key, "hit" if fresh else "miss")


def stale_page(page: Page) -> tuple[str, str] | None:
    """The expired render `cached_page` found, marked stale; None when there was none."""
    found = page.extras.get(STALE_KEY)
    if found is None:
        return None
    body, marker = found
    page.extras[STALE_KEY] = None
    page.extras["stale"] = True
    metrics.page_cache(page.project.key, "stale")
    if _HEADER_SLOT in body:
        return body.replace(_HEADER_SLOT, _HEADER_SLOT + STALE_NOTE, 1), marker
    return STALE_NOTE + body, marker


def stale_headers(page: Page) -> dict[str, str]:
    """The headers of a page served from the cache: the stale warning when it is stale."""
    return STALE_HEADERS if page.extras.get("stale") else {}


async def store_page(page: Page, key: str | None, meta: Meta, body: str, marker: str) -> None:
    """Keep a render, with its CSRF marker, for `cache_time` seconds (and the stale time)."""
    if key is not None:
        fresh = int(meta.get("cache_time") or 0)
        keep = fresh + int(page.runtime.config.upstream.stale_if_error)
        await page.runtime.cache.aset(key, (body, marker, time.time() + fresh), keep)

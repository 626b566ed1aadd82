"""Step 1: the action's meta — from the cache, else from the service (once for many)."""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from hashlib import sha256
from typing import cast

from plugit.exceptions import PlugItError
from plugit.pagerules import meta_problem
from plugit.protocol import (
    HEADER_META_EXPIRE,
    PATH_META,
    PROXY_META_FALLBACK_MAX_AGE,
    Meta,
)

from ..config import Project
from ..upstream import ProtocolViolation
from .fetch import fetch_protocol_call
from .state import Runtime, not_found

__all__ = ["MAX_META_AGE", "MetaNotFound", "get_meta"]

logger = logging.getLogger("plugit_proxy.pipeline")

MAX_META_AGE = 24 * 3600


class MetaNotFound(PlugItError):
    """The service has no action at this route."""


def meta_key(project: Project, route: str) -> str:
    digest = sha256(f"{project.cache_namespace}|{route}".encode()).hexdigest()
    # "meta2": the entry is (meta, expiry date), which a plain meta entry was not.
    return f"plugit:meta2:{digest}"


async def get_meta(runtime: Runtime, project: Project, route: str) -> Meta:
    """Return the meta of `route`; raise a 404 PageError when there is no such action.

    A meta is kept until its `Expire` date in the shared cache (every worker's truth) and,
    with the same date, in the process's own memory: a steady page reads no cache for it.
    """
    key = (project.cache_namespace, route)
    known = runtime.metas.get(key)
    if known is not None:
        meta, expires = known
        if time.time() < expires:
            return meta
    shared = meta_key(project, route)
    cached = await runtime.cache.aget(shared)
    if cached is not None:
        meta, expires = cast(tuple[Meta, float], cached)
        runtime.metas.put(key, (meta, expires))
        return meta
    try:
        return cast(
            Meta,
            await runtime.flights.do(shared, lambda: _fetch(runtime, project, route, key, shared)),
        )
    except MetaNotFound:
        raise not_found() from None


async def _fetch(
    runtime: Runtime, project: Project, route: str, key: tuple[str, str], shared: str
) -> Meta:
    fetched = await fetch_protocol_call(runtime, project, PATH_META, route)
    if fetched is None:
        raise MetaNotFound(route)
    answer, url = fetched
    meta = answer.json()
    problem = meta_problem(meta)
    if problem is not None:
        raise ProtocolViolation(problem, url=url)
    ttl = meta_max_age(answer.headers.get(HEADER_META_EXPIRE))
    if ttl > 0:
        expires = time.time() + ttl
        await runtime.cache.aset(shared, (meta, expires), ttl)
        runtime.metas.put(key, (meta, expires))
    return cast(Meta, meta)


def meta_max_age(expire: str | None) -> int:
    """Seconds until the `Expire` date (5 minutes without one, 0 when it has passed)."""
    if not expire:
        return PROXY_META_FALLBACK_MAX_AGE
    try:
        when = parsedate_to_datetime(expire).timestamp()
    except (TypeError, ValueError, IndexError):
        logger.warning("unreadable Expire header %r on a meta answer", expire)
        return PROXY_META_FALLBACK_MAX_AGE
    return max(0, min(int(when - time.time()), MAX_META_AGE))

"""Step 1: the action's meta — from the cache, else from the service (once for many)."""

from __future__ import annotations

import logging
import time
from hashlib import sha256
from typing import cast

from plugit.exceptions import PlugItError
from plugit.metarules import MAX_META_AGE, meta_key_problems, meta_max_age, read_expire
from plugit.pagerules import meta_problem
from plugit.protocol import HEADER_META_EXPIRE, PATH_META, Meta

from ..config import Project
from ..upstream import ProtocolViolation
from .fetch import fetch_protocol_call
from .state import Runtime, not_found

__all__ = ["MAX_META_AGE", "MetaNotFound", "get_meta"]

logger = logging.getLogger("plugit_proxy.pipeline")


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
    In development mode it is asked afresh every time and kept nowhere.
    """
    if runtime.config.dev:
        return await _fresh(runtime, project, route)
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


async def _fresh(runtime: Runtime, project: Project, route: str) -> Meta:
    try:
        meta, _ = await _ask(runtime, project, route)
    except MetaNotFound:
        raise not_found() from None
    return meta


async def _fetch(
    runtime: Runtime, project: Project, route: str, key: tuple[str, str], shared: str
) -> Meta:
    meta, ttl = await _ask(runtime, project, route)
    if ttl > 0:
        expires = time.time() + ttl
        await runtime.cache.aset(shared, (meta, expires), ttl)
        runtime.metas.put(key, (meta, expires))
    return meta


async def _ask(runtime: Runtime, project: Project, route: str) -> tuple[Meta, int]:
    """Ask the service for the meta; return it with the seconds it may be kept."""
    fetched = await fetch_protocol_call(runtime, project, PATH_META, route)
    if fetched is None:
        raise MetaNotFound(route)
    answer, url = fetched
    meta = answer.json()
    problem = meta_problem(meta)
    if problem is not None:
        raise ProtocolViolation(problem, url=url)
    for name, needed in meta_key_problems(meta).items():
        logger.warning("the meta at %s gives %s a value that is no %s", url, name, needed)
    expire = answer.headers.get(HEADER_META_EXPIRE)
    if expire and read_expire(expire) is None:
        logger.warning("unreadable Expire header %r on a meta answer", expire)
    return cast(Meta, meta), meta_max_age(expire)

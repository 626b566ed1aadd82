"""Step 5: the action's template — compiled LRU, then the shared cache, then the service."""

from __future__ import annotations

from hashlib import md5, sha256
from urllib.parse import unquote

from django.template.base import Template

from plugit.exceptions import PlugItError
from plugit.protocol import HEADER_TEMPLATE_FILE, PATH_TEMPLATE

from ..config import Project
from .fetch import fetch_protocol_call
from .state import Runtime, not_found

__all__ = ["TEMPLATE_CACHE_SECONDS", "get_template"]

TEMPLATE_CACHE_SECONDS = 24 * 3600


class TemplateNotFound(PlugItError):
    """The service has no template at this route."""


async def get_template(runtime: Runtime, project: Project, route: str, tag: str) -> Template:
    """Return the compiled template of `route` whose meta announced `tag`."""
    if not tag:
        raise not_found("This action has no template.")
    if runtime.config.dev:  # development mode: the service's current file, kept nowhere
        return await _fresh(runtime, project, route)
    compiled_key = (project.cache_namespace, tag)
    layout = project.layout
    compiled = runtime.renderer.cached(compiled_key, layout)
    if compiled is not None:
        return compiled
    # The tag comes from the service: hashed, any length or character makes a valid key.
    where = f"{project.cache_namespace}\x00{tag}".encode()
    cache_key = f"plugit:tpl:{sha256(where).hexdigest()}"
    source = await runtime.cache.aget(cache_key)
    if source is None:
        try:
            source, current = await runtime.flights.do(
                cache_key, lambda: _fetch(runtime, project, route, tag, cache_key)
            )
        except TemplateNotFound:
            raise not_found("This action's template is missing.") from None
        if not current:  # changed since the meta: use it for this page, keep nothing
            return runtime.renderer.compile(None, source, f"{project.key}:{route}", layout)
    return runtime.renderer.compile(compiled_key, source, f"{project.key}:{route}", layout)


async def _fresh(runtime: Runtime, project: Project, route: str) -> Template:
    fetched = await fetch_protocol_call(runtime, project, PATH_TEMPLATE, route)
    if fetched is None:
        raise not_found("This action's template is missing.")
    answer = fetched[0]
    # The SDK names the template's file (an optional header): errors then say which file.
    named = unquote(answer.headers.get(HEADER_TEMPLATE_FILE, ""))
    name = f"{named} ({project.key}:{route})" if named else f"{project.key}:{route}"
    return runtime.renderer.compile(None, answer.text(), name, project.layout, debug=True)


async def _fetch(
    runtime: Runtime, project: Project, route: str, tag: str, cache_key: str
) -> tuple[str, bool]:
    fetched = await fetch_protocol_call(runtime, project, PATH_TEMPLATE, route)
    if fetched is None:
        raise TemplateNotFound(route)
    answer, _ = fetched
    source = answer.text()
    # Keep it only when it is the announced version: the file may have changed since the meta.
    current = md5(answer.body).hexdigest() == tag  # noqa: S324 - the protocol's tag
    if current:
        await runtime.cache.aset(cache_key, source, TEMPLATE_CACHE_SECONDS)
    return source, current

"""What the proxy's template tags need, fetched before rendering (plugitInclude, plugitGetUser)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.template.base import Template

from ..identity import user_context
from ..upstream import ServiceRefused, UpstreamError
from .meta import get_meta
from .state import Page, PageError
from .template import get_template
from .urls import checked_route

__all__ = ["include_fetcher", "user_fetcher"]

logger = logging.getLogger("plugit_proxy.pipeline")


def include_fetcher(page: Page) -> Callable[[set[str]], Awaitable[Mapping[str, Template | None]]]:
    """Fetch the templates of included actions (without calling the actions)."""

    async def fetch(routes: set[str]) -> Mapping[str, Template | None]:
        ordered = sorted(routes)
        found = await asyncio.gather(*(_one_include(page, route) for route in ordered))
        return dict(zip(ordered, found, strict=True))

    return fetch


async def _one_include(page: Page, route: str) -> Template | None:
    try:
        checked_route(route)
        meta = await get_meta(page.runtime, page.project, route)
        return await get_template(page.runtime, page.project, route, meta.get("template_tag", ""))
    except ServiceRefused:  # this proxy's address refused: a 502 saying so, not a blank part
        raise
    except (PageError, UpstreamError) as error:
        logger.warning(
            "plugitInclude %r of %s failed: %s", route, page.project.service_urls[0], error
        )
        return None


def user_fetcher(
    page: Page,
) -> Callable[[set[str]], Awaitable[Mapping[str, Mapping[str, Any] | None]]]:
    """Fetch the users `plugitGetUser` asks for (allowed fields only)."""

    async def fetch(keys: set[str]) -> Mapping[str, Mapping[str, Any] | None]:
        result: dict[str, Mapping[str, Any] | None] = {}
        for key in keys:
            user = await page.runtime.identities.get_user(page.project, key)
            result[key] = None if user is None else user_context(user, page.project.user_fields)
        return result

    return fetch

"""The side menu: the menu action's template block, rendered next to the page's action.

A missing menu action means no menu; a broken one is logged and shows no menu — it never
breaks the page.
"""

from __future__ import annotations

import logging

from ..templatetags.plugit_tags import normalise_route
from .access import refused_rule
from .action import answer_json, call_action
from .meta import find_meta
from .pagecache import cache_key, cached_page, store_page
from .render import render_action
from .state import Page
from .template import get_template

__all__ = ["load_menu", "menu_route"]

logger = logging.getLogger("plugit_proxy.pipeline")


def menu_route(page: Page) -> str | None:
    """Give the route of the project's menu action (None without one)."""
    action = page.project.menu_action
    return normalise_route(action) if action else None


async def load_menu(page: Page) -> str:
    """Render the menu block for this page, or "" when there is none."""
    route = menu_route(page)
    if route is None:
        return ""
    try:
        return await _render_menu(page, route)
    except Exception as error:  # a broken menu must not break the page
        logger.warning(
            "menu action %s of %s failed: %s", route, page.project.service_urls[0], error
        )
        return ""


async def _render_menu(page: Page, route: str) -> str:
    runtime = page.runtime
    meta = await find_meta(runtime, page.project, route)
    if meta is None:
        return ""
    if refused_rule(meta, page.identity, page.remote_addr, page.project.orga_mode):
        return ""
    key = cache_key(page, meta, route=route)
    cached = await cached_page(page, key)
    if cached is not None:
        return cached
    answer = await call_action(page, meta, route=route, forward_browser=False)
    try:
        if answer.status != 200:
            return ""
        await answer.buffer(runtime.config.upstream.max_body, runtime.config.upstream.timeout)
    finally:
        answer.close()
    data = answer_json(answer)
    template = await get_template(runtime, page.project, route, meta.get("template_tag", ""))
    block = route.strip("/").split("/")[-1] or None
    html = await render_action(page, template, data, block=block)
    await store_page(page, key, meta, html)
    return html

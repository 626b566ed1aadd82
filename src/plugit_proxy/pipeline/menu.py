"""The side menu: the page template's own block named by the project's menu setting.

docs/protocol.md §4 step 6: the block is rendered a second time, in the page's context, and
shown once, in the layout's side column. No call is made for it; a template without that block
has no menu, and a block that fails to render is logged and shows no menu.

An error page keeps the menu of the page that failed (`error_menu`): the block rendered in the
page's context without the action's data. In production only from templates already compiled
(a dead service costs no second call); in development mode the template is fetched afresh
unless the service did not answer (refused, timed out).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.template.base import Template

from plugit.protocol import Meta

from ..rendering import IncludeFetcher, Rendered, apply_slots
from ..upstream import UpstreamTimeout, UpstreamUnavailable
from .includes import include_fetcher, user_fetcher
from .render import menu_html, page_context
from .state import Page
from .template import get_template

__all__ = ["error_menu", "keep_for_errors", "menu_block", "with_menu"]

logger = logging.getLogger("plugit_proxy.pipeline")

# What an error page needs of its page: set once the page's access rules let the viewer in.
META_KEY = "menu_meta"
TEMPLATE_KEY = "menu_template"


def menu_block(page: Page) -> str | None:
    """Name the block that gives this project's side menu (None: no menu)."""
    name = (page.project.menu_action or "").strip().strip("/")  # "/menubar" as before
    return name or None


def with_menu(page: Page, rendered: Rendered) -> str:
    """Put the rendered side block in the layout's menu slot (or empty the slot)."""
    menu = menu_html(page.runtime, rendered.side, page.project.layout)
    return apply_slots(rendered.body, {"menu": menu})


def keep_for_errors(page: Page, meta: Meta, template: Template | None = None) -> None:
    """Remember the page's meta (its access granted) and template, for its error page's menu."""
    page.extras[META_KEY] = meta
    if template is not None:
        page.extras[TEMPLATE_KEY] = template


async def error_menu(page: Page, error: BaseException) -> str:
    """Render the failed page's side block without the action's data ("" when it has none)."""
    meta = page.extras.get(META_KEY)
    block = menu_block(page)
    if meta is None or block is None or page.extras.get("kind") != "page":
        return ""
    try:
        template = await _known_template(page, meta, error)
        if template is None:
            return ""
        return await page.runtime.renderer.render_side(
            template,
            block,
            page_context(page, {}),
            fetch_includes=_include_fetcher(page, error),
            fetch_users=user_fetcher(page),
        )
    except Exception as failure:  # the error page shows without its menu, never fails for it
        logger.warning("the menu of the error page of %s failed: %r", page.route, failure)
        return ""


def _answering(page: Page, error: BaseException) -> bool:
    """Tell whether more calls may go to the service (development mode, and it answered)."""
    return page.runtime.config.dev and not isinstance(error, UpstreamUnavailable | UpstreamTimeout)


async def _known_template(page: Page, meta: Meta, error: BaseException) -> Template | None:
    """The page's template: this request's, else a compiled one, else (dev) the service's."""
    kept = page.extras.get(TEMPLATE_KEY)
    if isinstance(kept, Template):
        return kept
    tag = meta.get("template_tag", "")
    if _answering(page, error):
        return await get_template(page.runtime, page.project, page.route, tag)
    return _compiled(page, tag) if tag else None


def _compiled(page: Page, tag: str) -> Template | None:
    project = page.project
    return page.runtime.renderer.cached((project.cache_namespace, tag), project.layout)


def _include_fetcher(page: Page, error: BaseException) -> IncludeFetcher:
    """Fetch included templates as pages do (dev, answering), else from what is compiled."""
    if _answering(page, error):
        return include_fetcher(page)

    async def known(routes: set[str]) -> Mapping[str, Template | None]:
        metas = page.runtime.metas
        found: dict[str, Template | None] = {}
        for route in routes:
            entry = metas.get((page.project.cache_namespace, route))
            tag = entry[0].get("template_tag", "") if entry is not None else ""
            found[route] = _compiled(page, tag) if tag else None
        return found

    return known

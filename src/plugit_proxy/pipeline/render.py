"""Step 6: render the template with the full context; the layout's per-request parts."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.template.base import Template
from django.utils.safestring import mark_safe

from ..config import LAYOUT_MODERN, PRODUCTION, Project
from ..identity import Identity, UserSimulation, user_context
from ..rendering import Rendered, apply_slots
from ..tagcontext import SLOT_MARKER
from ..versionrouting import VersionChoice
from .includes import include_fetcher, user_fetcher
from .state import Page, Runtime
from .switchers import VERSION_SWITCH

__all__ = ["csrf_marker", "finish_html", "page_context", "render_action"]

logger = logging.getLogger("plugit_proxy.pipeline")

CSRF_MARKER_KEY = "csrf_marker"


def csrf_marker(page: Page) -> str:
    """Give the page's CSRF marker: what `csrf_token` renders as until the token goes in.

    A fresh random marker per render (kept with a cached page), never the protocol's fixed
    placeholder: data cannot spell a marker it never saw, so a poll titled with the
    placeholder stays text instead of showing every viewer their token.
    """
    marker = page.extras.get(CSRF_MARKER_KEY)
    if not isinstance(marker, str):
        marker = page.extras[CSRF_MARKER_KEY] = f"plugit-csrf-{secrets.token_hex(16)}"
    return marker


def use_csrf_marker(page: Page, marker: str) -> None:
    """Fill `marker` (a cached page's) with this request's token."""
    page.extras[CSRF_MARKER_KEY] = marker


def page_context(page: Page, data: Any) -> dict[str, Any]:
    """Build the context of section 4 step 6 around the action's JSON."""
    project = page.project
    identity = page.identity
    context: dict[str, Any] = dict(data) if isinstance(data, dict) else {"data": data}
    context.update(
        ebuio_u=user_context(identity.user, project.user_fields),
        ebuio_baseUrl=project.mount,
        ebuio_orgamode=project.orga_mode,
        ebuio_platformName=page.runtime.config.platform_name,
        csrf_token=csrf_marker(page),  # the real token goes in after the page cache
        MEDIA_URL=project.mount + "media/",
        STATIC_URL=page.runtime.config.static_url,
    )
    if project.orga_mode:
        context["ebuio_orga"] = None if identity.orga is None else identity.orga.as_context()
        context["ebuio_orgas"] = [orga.as_context() for orga in identity.orgas]
    if page.runtime.config.standalone:
        context["ebuio_userMode"] = identity.user_mode
        context["ebuio_realUsers"] = identity.real_users
    return context


async def render_action(
    page: Page, template: Template, data: Any, *, side_block: str | None = None
) -> Rendered:
    """Render an action's template (and its `side_block` apart), with what its tags need."""
    return await page.runtime.renderer.render(
        template,
        page_context(page, data),
        fetch_includes=include_fetcher(page),
        fetch_users=user_fetcher(page),
        side_block=side_block,
    )


def header_html(runtime: Runtime, page: Page | None, layout: str = LAYOUT_MODERN) -> str:
    """Render the layout's header: platform, user, and (standalone) the switchers."""
    identity = page.identity if page else Identity()
    project = page.project if page else None
    routing = page.routing if page else None
    # Everything the header shows is in the key: a cached header is never another's.
    key = (layout, project, page.here if page else "/", identity, routing)
    cached = runtime.headers.get(key)
    if cached is not None:
        return _with_token(cached, page)
    simulation = runtime.identities
    modes = simulation.user_modes if isinstance(simulation, UserSimulation) else {}
    context = {
        "platform_name": runtime.config.platform_name,
        "base_url": project.mount if project else "/",
        "here": page.here if page else "/",
        "orga_mode": bool(project and project.orga_mode),
        "orga": identity.orga,
        "orgas": identity.orgas,
        "switchable": identity.user_mode is not None and not identity.real_users,
        "user_mode": identity.user_mode,
        "user_mode_label": modes.get(identity.user_mode or "", ""),
        "user_modes": list(modes.items()),
        "user": identity.user,
        **_version_context(project, identity, routing),
    }
    html = runtime.renderer.render_own("plugIt/header.html", context, layout)
    runtime.headers.put(key, html)
    return _with_token(html, page)


# Where the header's opt-in form carries its CSRF token: filled per request, after the cache.
HEADER_TOKEN = "plugit-header-csrf-token"  # noqa: S105 - a placeholder, not a secret


def _version_context(
    project: Project | None, identity: Identity, routing: VersionChoice | None
) -> dict[str, Any]:
    """The version badge (administrators only) and the opt-in switches of the header."""
    user = identity.user
    is_admin = user.ebuio_admin or identity.operator
    shown = project is not None and project.version != PRODUCTION and is_admin
    return {
        "version_badge": project.version if shown and project is not None else "",
        "opt_in": [(name, routing.opted == name) for name in routing.offered] if routing else [],
        "version_switch": VERSION_SWITCH.lstrip("/"),
        "header_token": HEADER_TOKEN,
    }


def _with_token(html: str, page: Page | None) -> str:
    if page is None or HEADER_TOKEN not in html:
        return html
    return html.replace(HEADER_TOKEN, page.csrf.token)


def menu_html(runtime: Runtime, menu: str, layout: str = LAYOUT_MODERN) -> str:
    """Wrap a rendered menu in the layout's side column."""
    if not menu.strip():
        return ""
    context = {"menu": mark_safe(menu)}  # noqa: S308 - the service's own rendered block
    return runtime.renderer.render_own("plugIt/menu.html", context, layout)


def finish_html(
    runtime: Runtime,
    page: Page | None,
    body: str,
    menu: str = "",
    *,
    layout: str = LAYOUT_MODERN,
) -> str:
    """Put the per-request parts of `layout` in a rendered page: header, menu, CSRF token."""
    slots: dict[str, str] = {}
    if SLOT_MARKER.format("header") in body:
        slots["header"] = header_html(runtime, page, layout)
    if SLOT_MARKER.format("menu") in body:
        slots["menu"] = menu_html(runtime, menu, layout)
    html = apply_slots(body, slots)
    marker = page.extras.get(CSRF_MARKER_KEY) if page is not None else None
    if page is not None and isinstance(marker, str) and marker in html:
        html = html.replace(marker, page.csrf.token)
    return html

"""Error pages: inside the layout for pages, bare for no_template, JSON for json_only."""

from __future__ import annotations

import json

from starlette.responses import Response

from ..config import LAYOUT_MODERN
from ..rendering import apply_slots
from .render import finish_html
from .state import Page, PageError, Runtime

__all__ = ["error_response"]


def error_response(
    runtime: Runtime,
    page: Page | None,
    error: PageError,
    *,
    kind: str = "page",
    layout: str = LAYOUT_MODERN,
) -> Response:
    """Answer `error` in `layout`, the way the page would have answered (`page`, `bare`, `json`)."""
    if error.status == 304:
        return Response(status_code=304)
    if kind == "json":
        body = json.dumps({"error": error.title, "message": error.message, "status": error.status})
        return Response(body, status_code=error.status, media_type="application/json")
    html = _error_html(runtime, error, layout)
    if kind == "page":
        html = finish_html(runtime, page, html, layout=layout)
    else:
        html = apply_slots(html, {"header": "", "menu": ""})
    return Response(html, status_code=error.status, media_type="text/html")


def _error_html(runtime: Runtime, error: PageError, layout: str) -> str:
    """Render the error template (once per error text: a dead service's pages come in bursts)."""
    key = (layout, error.status, error.title, error.message)
    html = runtime.error_pages.get(key)
    if html is None:
        # Only what the key and the runtime hold: the same error renders the same text.
        context = {
            "status": error.status,
            "title": error.title,
            "message": error.message,
            "STATIC_URL": runtime.config.static_url,
            "ebuio_platformName": runtime.config.platform_name,
        }
        html = runtime.renderer.render_own("plugIt/error.html", context, layout)
        runtime.error_pages.put(key, html)
    return html

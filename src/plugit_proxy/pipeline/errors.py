"""Error pages: inside the layout for pages, bare for no_template, JSON for json_only.

What went wrong in detail (the service's address, the socket error) goes to the log, never to
visitors: an error page says what kind of failure it was. The standalone proxy with
PLUGIT_DEBUG on adds the detail, for the developer at the keyboard.
"""

from __future__ import annotations

import json

from django.conf import settings
from starlette.responses import Response

from ..config import LAYOUT_MODERN
from ..rendering import TemplateCompileError, TemplateRenderError, apply_slots
from ..upstream import CircuitOpen, ProtocolViolation, UpstreamError, UpstreamTimeout
from .render import finish_html
from .state import Page, PageError, Runtime

__all__ = ["error_response", "failure_page"]


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


def failure_page(
    runtime: Runtime, error: UpstreamError | TemplateCompileError | TemplateRenderError
) -> PageError:
    """Give the page of a failed service call or template, without internal addresses."""
    match error:
        case CircuitOpen():
            page = PageError(
                503,
                "Service unavailable",
                f"The service is temporarily unavailable: {error.reason}.",
            )
        case UpstreamTimeout():
            page = PageError(504, "Service timeout", "The service took too long to answer.")
        case ProtocolViolation():  # its reasons are the proxy's own words, never an address
            page = PageError(
                502,
                "Service unavailable",
                f"The service's answer could not be read: {error.reason}.",
            )
        case UpstreamError() if error.status == 502:
            page = PageError(502, "Service unavailable", "The service could not be reached.")
        case UpstreamError():
            page = PageError(
                error.status, "Service unavailable", "The service is temporarily unavailable."
            )
        case TemplateCompileError():  # names the template and the line: the service's own text
            page = PageError(500, "Template error", str(error))
        case _:
            page = PageError(500, "Template error", "The page's template failed while rendering.")
    if runtime.config.standalone and settings.DEBUG:
        page.message += f" (PLUGIT_DEBUG: {error})"
    return page

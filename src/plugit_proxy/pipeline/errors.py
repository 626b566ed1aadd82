"""Error pages: inside the layout for pages, bare for no_template, JSON for json_only.

What went wrong in detail (the service's address, the socket error, a template's line, the
service's traceback) is logged, and shown only to who may see it: platform administrators
(staff accounts) and everyone in development mode (PLUGIT_DEV, `plugit proxy --dev`). Everyone
else reads what kind of failure it was, and a link back to the project's start page.
"""

from __future__ import annotations

import json
from html import escape

from starlette.responses import Response

from ..config import LAYOUT_MODERN
from ..rendering import TemplateCompileError, TemplateRenderError, apply_slots
from ..requestcontext import current_id
from ..upstream import CircuitOpen, ProtocolViolation, UpstreamError, UpstreamTimeout
from .render import finish_html
from .state import Page, PageError, Runtime

__all__ = ["ServiceFailure", "error_response", "failure_page", "shows_detail", "unknown_project"]


class ServiceFailure(PageError):
    """The page of a failed service call or template; `detail` is for privileged eyes only."""

    def __init__(self, status: int, title: str, message: str, *, detail: str) -> None:
        super().__init__(status, title, message)
        self.detail = detail


def shows_detail(runtime: Runtime, page: Page | None) -> bool:
    """Tell whether this viewer may read internal details (development mode, or staff)."""
    if runtime.config.dev:
        return True
    return page is not None and page.identity.operator


def error_response(
    runtime: Runtime,
    page: Page | None,
    error: PageError,
    *,
    kind: str = "page",
    layout: str = LAYOUT_MODERN,
    menu: str = "",
) -> Response:
    """Answer `error` in `layout`, the way the page would have answered (`page`, `bare`, `json`).

    `menu` is the failed page's side block (menu.py `error_menu`): it goes in after the error
    page's render cache, which holds only what every viewer of that error shares.
    """
    if error.status == 304:
        return Response(status_code=304)
    detail = _detail(error) if shows_detail(runtime, page) else ""
    if kind == "json":
        answer = {"error": error.title, "message": error.message, "status": error.status}
        if request_id := current_id():
            answer["request_id"] = request_id
        if detail:
            answer["detail"] = detail
        return Response(json.dumps(answer), status_code=error.status, media_type="application/json")
    home = page.project.mount if page is not None else "/"
    html = _with_request_id(_error_html(runtime, error, detail, layout, home))
    if kind == "page":
        html = finish_html(runtime, page, html, menu, layout=layout)
    else:
        html = apply_slots(html, {"header": "", "menu": ""})
    return Response(html, status_code=error.status, media_type="text/html")


def unknown_project(runtime: Runtime, platform_home: str) -> Response:
    """Answer a project origin no project has: a 404 in the layout, linking to the platform."""
    error = PageError(404, "No such project", "No such project. Check the address, or pick one.")
    html = _error_html(runtime, error, "", LAYOUT_MODERN, platform_home, home_label="All projects")
    header = runtime.renderer.render_own(
        "plugIt/header.html",
        {"platform_name": runtime.config.platform_name, "base_url": platform_home, "bare": True},
    )
    html = apply_slots(_with_request_id(html), {"header": header, "menu": ""})
    return Response(html, status_code=404, media_type="text/html")


def _with_request_id(html: str) -> str:
    """Put this request's id in an error page (after its render cache: each page has its own)."""
    request_id = current_id()
    shown = ""
    if request_id:
        shown = (
            '<p class="plugit-error-request small text-body-secondary">Request id: '
            f"<code>{escape(request_id)}</code> (quote it when you report this problem)</p>"
        )
    return apply_slots(html, {"request_id": shown})


def _detail(error: PageError) -> str:
    return error.detail if isinstance(error, ServiceFailure) else ""


def _error_html(
    runtime: Runtime,
    error: PageError,
    detail: str,
    layout: str,
    home: str,
    *,
    home_label: str = "Back to the start page",
) -> str:
    """Render the error template (once per error text: a dead service's pages come in bursts)."""
    # Everything the page shows is in the key: a privileged page (with `detail`) is never
    # served to another viewer, nor one project's home link on another's page.
    key = (layout, error.status, error.title, error.message, detail, home, home_label)
    html = runtime.error_pages.get(key)
    if html is None:
        context = {
            "status": error.status,
            "title": error.title,
            "message": error.message,
            "detail": detail,
            "home_url": home,
            "home_label": home_label,
            "STATIC_URL": runtime.config.static_url,
            "ebuio_platformName": runtime.config.platform_name,
        }
        html = runtime.renderer.render_own("plugIt/error.html", context, layout)
        runtime.error_pages.put(key, html)
    return html


def failure_page(
    runtime: Runtime, error: UpstreamError | TemplateCompileError | TemplateRenderError
) -> ServiceFailure:
    """Give the page of a failed service call or template: its detail kept apart."""
    detail = str(error)
    extra = getattr(error, "detail", "")  # the service's traceback, a template's context...
    if isinstance(extra, str) and extra:
        detail += "\n\n" + extra
    match error:
        case CircuitOpen():  # its reasons are the proxy's own words, never an address
            return ServiceFailure(
                503,
                "Service unavailable",
                f"The service is temporarily unavailable: {error.reason}.",
                detail=detail,
            )
        case UpstreamTimeout():
            title, message = "Service timeout", "The service took too long to answer."
            return ServiceFailure(504, title, message, detail=detail)
        case ProtocolViolation():  # the proxy's own words again: no address, no socket error
            message = f"The service's answer could not be read: {error.reason}."
            return ServiceFailure(502, "Service unavailable", message, detail=detail)
        case UpstreamError() if error.status == 500:  # the action raised (its traceback: detail)
            message = "The service failed while answering this page."
            return ServiceFailure(500, "Service error", message, detail=detail)
        case UpstreamError() if error.status == 502:
            message = "The service could not be reached."
            return ServiceFailure(502, "Service unavailable", message, detail=detail)
        case UpstreamError():
            message = "The service is temporarily unavailable."
            return ServiceFailure(error.status, "Service unavailable", message, detail=detail)
        case TemplateCompileError():
            message = "The page's template does not compile."
            return ServiceFailure(500, "Template error", message, detail=detail)
        case _:
            message = "The page's template failed while rendering."
            return ServiceFailure(500, "Template error", message, detail=detail)

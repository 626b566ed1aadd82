"""Proxy mode (docs/protocol.md §5): a request goes to the same path on the service."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse

from plugit.protocol import (
    HEADER_NO_TEMPLATE,
    PATH_ACTION,
    PATH_MAIL,
    PATH_META,
    PATH_PING,
    PATH_TEMPLATE,
    PATH_VERSION,
)

from ..upstream import Request, UpstreamAnswer
from .action import (
    browser_params,
    orga_params,
    protocol_headers,
    proxy_mode_headers,
    read_capped,
)
from .answer import (
    file_response,
    is_file,
    passed_headers,
    redirect_response,
    status_error,
    store_session,
)
from .render import finish_html
from .state import Page, not_found
from .tokenfill import fill_token, fill_token_stream
from .untrusted import untrusted
from .urls import service_url

__all__ = ["serve_proxied"]

BROWSER_HEADERS = ("Content-Type", "Accept", "Accept-Language")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The service's protocol endpoints, for the proxy alone: `meta`, `template` and `action` are
# prefixes there (the SDK serves `meta<route>` for any route), the others whole paths.
PROTOCOL_PREFIXES = (PATH_META, PATH_TEMPLATE, PATH_ACTION)
PROTOCOL_PATHS = frozenset({PATH_PING, PATH_VERSION, PATH_MAIL})


def is_protocol_path(route: str) -> bool:
    """Tell whether `route` (below the service's base URL) is one of its protocol endpoints."""
    path = route.lstrip("/").lower()
    return path.startswith(PROTOCOL_PREFIXES) or path.rstrip("/") in PROTOCOL_PATHS


async def serve_proxied(page: Page) -> Response:
    """Forward the request; put an HTML answer in the layout (unless NoTemplate)."""
    if is_protocol_path(page.route):
        # A browser calling them would skip the access rules or forge a mail reply.
        raise not_found()
    headers = await protocol_headers(page)
    headers.update(proxy_mode_headers(page))
    for name in BROWSER_HEADERS:
        if name in page.request.headers:
            headers[name] = page.request.headers[name]
    query = browser_params(page.request.query_params.multi_items()) + orga_params(page)
    # Read the (capped) body whole and send it with a Content-Length: many WSGI servers
    # (Python's http.server, older Werkzeug) cannot read a chunked request body.
    body = await read_capped(page) if page.method in BODY_METHODS else None
    upstream = page.runtime.upstream
    base = upstream.pick(page.project)
    url = service_url(base, "", page.route.lstrip("/"))
    answer = await upstream.send(
        Request(
            method=page.method,
            url=url,
            params=query,
            headers=headers,
            data=body,
            stream=True,
            service=base,
        )
    )
    try:
        return await _respond(page, answer)
    except BaseException:
        answer.close()
        raise


async def _respond(page: Page, answer: UpstreamAnswer) -> Response:
    refused = answer.guard_refusal()  # not a missing page: this proxy's address (a 502)
    if refused is not None:
        raise refused
    await store_session(page, answer)
    headers = passed_headers(answer)
    if answer.status == 304:
        answer.close()
        return Response(status_code=304, headers=headers)
    error = status_error(page, answer.status)
    if error is not None:
        raise error
    redirect = redirect_response(page, answer)
    if redirect is not None:
        answer.close()
        return redirect
    content_type = answer.headers.get("Content-Type", "application/octet-stream")
    if is_file(answer) or "html" not in content_type or answer.stream is None:
        return file_response(answer)
    if HEADER_NO_TEMPLATE in answer.headers:
        stream = fill_token_stream(answer.stream, page.csrf.token)
        return untrusted(StreamingResponse(stream, headers=headers, media_type=content_type))
    limits = page.runtime.config.upstream
    raw = await answer.buffer(limits.max_body, limits.timeout)
    html = fill_token(raw, page.csrf.token).decode("utf-8", "replace")
    context = {"body": html, "STATIC_URL": page.runtime.config.static_url}
    context["ebuio_platformName"] = page.runtime.config.platform_name
    layout = page.project.layout
    wrapped = page.runtime.renderer.render_own("plugIt/proxied.html", context, layout)
    return Response(
        finish_html(page.runtime, page, wrapped, layout=layout),
        headers=headers,
        media_type="text/html",
    )

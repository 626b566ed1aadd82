"""Media: `<mount>media/<path>` streamed from the service's `media/<path>`, sandboxed."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse

from plugit.protocol import PATH_MEDIA

from ..upstream import Request
from .answer import _chunks
from .state import Page
from .untrusted import untrusted
from .urls import service_url

__all__ = ["MEDIA_PREFIX", "serve_media"]

MEDIA_PREFIX = "/" + PATH_MEDIA
PASSED = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "Content-Disposition")
CONDITIONAL = ("If-None-Match", "If-Modified-Since")


async def serve_media(page: Page) -> Response:
    """Stream one media file, with its type and caching headers (development mode: no-store)."""
    if page.method not in {"GET", "HEAD"}:
        return Response("Method not allowed", status_code=405, media_type="text/plain")
    path = page.route[len(MEDIA_PREFIX) :]
    headers = {
        name: page.request.headers[name] for name in CONDITIONAL if name in page.request.headers
    }
    upstream = page.runtime.upstream
    base = upstream.pick(page.project)
    answer = await upstream.send(
        Request(
            method="GET",
            url=service_url(base, PATH_MEDIA, path),
            headers=headers,
            stream=True,
            service=base,
        )
    )
    passed = {name: answer.headers[name] for name in PASSED if name in answer.headers}
    if page.runtime.config.dev:  # an edited file shows on the next reload, whatever was said
        passed["Cache-Control"] = "no-store"
    if answer.status == 304:
        answer.close()
        return Response(status_code=304, headers=passed)
    if answer.status != 200 or answer.stream is None:
        answer.close()
        return Response("Not found", status_code=404, media_type="text/plain")
    return untrusted(StreamingResponse(_chunks(answer.stream), headers=passed))

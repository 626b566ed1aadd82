"""Step 4, continued: what the proxy does with an action's answer.

Pass-through statuses, redirects, files, session keys, ETag and CORS headers, OPTIONS,
json_only and xml_only. The rendered kinds of answer go on to the template step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import RedirectResponse, Response, StreamingResponse

from plugit.protocol import (
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_SET_SESSION_PREFIX,
    PASS_THROUGH_STATUSES,
    PASSED_ANSWER_HEADERS,
    decode_bool,
)

from ..upstream import BodyStream, UpstreamAnswer
from .action import service_session
from .state import Page, PageError

__all__ = [
    "file_response",
    "passed_headers",
    "redirect_response",
    "status_error",
    "store_session",
]

# Not Content-Length nor Content-Encoding: the client decompresses, and streams go chunked.
FILE_HEADERS = ("Content-Type", "Content-Disposition", "Last-Modified", "Cache-Control")


def passed_headers(answer: UpstreamAnswer) -> dict[str, str]:
    """Give the ETag and CORS headers the browser must see."""
    return {name: answer.headers[name] for name in PASSED_ANSWER_HEADERS if name in answer.headers}


def status_error(page: Page, status: int) -> PageError | None:
    """Map an action's status to what the browser gets (None for a usable 200)."""
    if status == 200:
        return None
    if status == 500:
        return PageError(500, "Service error", "The service failed while answering this page.")
    if status in {502, 503}:
        return PageError(502, "Service unavailable", "The service cannot answer right now.")
    if status == 504:
        return PageError(504, "Service timeout", "The service took too long to answer.")
    if status in PASS_THROUGH_STATUSES:
        return PageError(status, _PASS_TITLES[status], _PASS_TEXT[status])
    return PageError(404, "Page not found", "This page does not exist.")


_PASS_TITLES = {
    304: "Not modified",
    401: "Unauthorized",
    403: "Access denied",
    404: "Page not found",
    429: "Too many requests",
}
_PASS_TEXT = {
    304: "",
    401: "You must be authenticated to see this page.",
    403: "The service refused to show you this page.",
    404: "This page does not exist.",
    429: "Too many requests: please wait a moment and try again.",
}


async def store_session(page: Page, answer: UpstreamAnswer) -> None:
    """Keep the `EbuIo-PlugIt-SetSession-<key>` values in this project's session."""
    prefix = HEADER_SET_SESSION_PREFIX.lower()
    updates = {
        name[len(prefix) :]: value
        for name, value in answer.headers.items()
        if name.lower().startswith(prefix) and len(name) > len(prefix)
    }
    if not updates:
        return
    key = service_session(page)
    stored = dict(await page.session.get(key, {}) or {})
    stored.update(updates)
    await page.session.set(key, stored)


def redirect_response(page: Page, answer: UpstreamAnswer) -> Response | None:
    """Turn `EbuIo-PlugIt-Redirect` into a 302 (below the mount unless NoPrefix)."""
    target = answer.headers.get(HEADER_REDIRECT)
    if target is None:
        return None
    if not decode_bool(answer.headers.get(HEADER_REDIRECT_NO_PREFIX)):
        target = page.project.mount + target.lstrip("/")
    return RedirectResponse(target, status_code=302, headers=passed_headers(answer))


def is_file(answer: UpstreamAnswer) -> bool:
    return decode_bool(answer.headers.get(HEADER_IS_FILE))


def file_response(answer: UpstreamAnswer, status: int = 200) -> Response:
    """Stream a file answer with the service's type and disposition."""
    headers = {name: answer.headers[name] for name in FILE_HEADERS if name in answer.headers}
    headers.update(passed_headers(answer))
    headers.setdefault("Content-Type", "application/octet-stream")
    if answer.stream is None:
        return Response(answer.body, status_code=status, headers=headers)
    return StreamingResponse(_chunks(answer.stream), status_code=status, headers=headers)


async def _chunks(stream: BodyStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk

"""Step 4, continued: what the proxy does with an action's answer.

`plugit.pagerules.read_answer` decides (pass-through statuses, redirects, files, session keys,
ETag and CORS headers, OPTIONS); this module turns the decision into a response. The data
answers go on to json_only, xml_only or the template step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import RedirectResponse, Response, StreamingResponse

from plugit import pagerules
from plugit.pagerules import ActionAnswer, browser_status, read_answer, redirect_location

from ..upstream import BodyStream, UpstreamAnswer
from .action import service_session
from .state import Page, PageError
from .untrusted import untrusted

__all__ = [
    "decide",
    "file_response",
    "immediate_response",
    "is_file",
    "passed_headers",
    "redirect_response",
    "save_session",
    "status_error",
    "store_session",
]

# Not Content-Length nor Content-Encoding: the client decompresses, and streams go chunked.
FILE_HEADERS = ("Content-Type", "Content-Disposition", "Last-Modified", "Cache-Control")


def decide(page: Page, answer: UpstreamAnswer) -> ActionAnswer:
    """Classify the action's answer by the page rules."""
    return read_answer(page.method, answer.status, answer.headers)


def immediate_response(
    page: Page, decided: ActionAnswer, answer: UpstreamAnswer
) -> Response | None:
    """Answer at once for every outcome but data; raise the page of an error status."""
    headers = decided.passed
    match decided.outcome:
        case "error":
            answer.close()
            raise status_page(decided.status)
        case "not_modified" | "options":
            answer.close()
            return Response(status_code=decided.status, headers=headers)
        case "redirect":
            answer.close()
            target = redirect_location(
                page.project.mount, decided.redirect or "", no_prefix=decided.no_prefix
            )
            return RedirectResponse(target, status_code=302, headers=headers)
        case "file":
            return file_response(answer)
    return None


def passed_headers(answer: UpstreamAnswer) -> dict[str, str]:
    """Give the ETag and CORS headers the browser must see."""
    return pagerules.passed_headers(answer.headers)


def status_error(page: Page, status: int) -> PageError | None:
    """Map an action's status to what the browser gets (None for a usable 200)."""
    mapped = browser_status(status)
    return None if mapped == 200 else status_page(mapped)


def status_page(status: int) -> PageError:
    """Give the error page of a browser status the page rules chose."""
    if status == 500:
        return PageError(500, "Service error", "The service failed while answering this page.")
    return PageError(status, _TITLES[status], _TEXT[status])


_TITLES = {
    304: "Not modified",
    401: "Unauthorized",
    403: "Access denied",
    404: "Page not found",
    429: "Too many requests",
}
_TEXT = {
    304: "",
    401: "You must be authenticated to see this page.",
    403: "The service refused to show you this page.",
    404: "This page does not exist.",
    429: "Too many requests: please wait a moment and try again.",
}


async def store_session(page: Page, answer: UpstreamAnswer) -> None:
    """Keep the `EbuIo-PlugIt-SetSession-<key>` values in this project's session."""
    await save_session(page, pagerules.set_session_values(answer.headers.items()))


async def save_session(page: Page, updates: dict[str, str]) -> None:
    """Add `updates` to the values this project's service keeps in the user's session."""
    if not updates:
        return
    key = service_session(page)
    stored = dict(await page.session.get(key, {}) or {})
    stored.update(updates)
    await page.session.set(key, stored)


def redirect_response(page: Page, answer: UpstreamAnswer) -> Response | None:
    """Turn `EbuIo-PlugIt-Redirect` into a 302 (below the mount unless NoPrefix)."""
    decided = read_answer(page.method, 200, answer.headers)
    if decided.outcome != "redirect" or decided.redirect is None:
        return None
    target = redirect_location(page.project.mount, decided.redirect, no_prefix=decided.no_prefix)
    return RedirectResponse(target, status_code=302, headers=decided.passed)


def is_file(answer: UpstreamAnswer) -> bool:
    """Tell whether the answer is a file (`EbuIo-PlugIt-ItAFile`)."""
    return pagerules.is_file(answer.headers)


def file_response(answer: UpstreamAnswer, status: int = 200) -> Response:
    """Stream a file answer with the service's type and disposition."""
    headers = {name: answer.headers[name] for name in FILE_HEADERS if name in answer.headers}
    headers.update(passed_headers(answer))
    headers.setdefault("Content-Type", "application/octet-stream")
    if answer.stream is None:
        return untrusted(Response(answer.body, status_code=status, headers=headers))
    return untrusted(StreamingResponse(_chunks(answer.stream), status_code=status, headers=headers))


async def _chunks(stream: BodyStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk

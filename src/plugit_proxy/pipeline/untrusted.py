"""Headers for what a service answers that is not a page: files, media, fragments.

A service decides the bytes and the type of these answers, so a file "of type" text/html or
an SVG could otherwise run script on the origin that serves it. Browsers must take the type
as given (`nosniff`) and open such a document sandboxed: no script, no forms, an opaque
origin, so it reaches none of the origin's cookies, storage or pages.
"""

from __future__ import annotations

from starlette.responses import Response

__all__ = ["UNTRUSTED_HEADERS", "untrusted"]

UNTRUSTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
}


def untrusted(response: Response) -> Response:
    """Give `response` the headers of a service-controlled answer that is not a page."""
    for name, value in UNTRUSTED_HEADERS.items():
        response.headers[name] = value
    return response

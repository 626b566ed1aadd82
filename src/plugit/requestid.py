"""The id of the proxy request an action serves, for the service's own log lines.

The proxy sends each call with `X-Request-ID` (docs/protocol.md, optional extensions): the
id its access log, its error page and the browser's answer header carry. An action reads it
as `request.request_id`; while an action runs, `current_request_id()` gives it too (the
threads of sync actions included), and `RequestIdFilter`, put on a logging handler, adds it
to every record as `request_id` (and `request_tag`: " [<id>]", or "" outside an action).
`plugit serve` and `plugit dev` log that way.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token

__all__ = ["RequestIdFilter", "current_request_id", "done_serving", "serving_request"]

_CURRENT: ContextVar[str] = ContextVar("plugit_request_id", default="")


def current_request_id() -> str:
    """The id of the proxy request being served, "" outside an action (or without one)."""
    return _CURRENT.get()


def serving_request(request_id: str) -> Token[str]:
    """Mark the start of serving `request_id` (give its token to `done_serving`)."""
    return _CURRENT.set(request_id)


def done_serving(token: Token[str]) -> None:
    """Mark the end of serving the request `serving_request` started."""
    _CURRENT.reset(token)


class RequestIdFilter(logging.Filter):
    """Add `request_id` and `request_tag` to each record (put it on a handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _CURRENT.get()
        record.__dict__.setdefault("request_id", request_id)
        record.request_tag = f" [{request_id}]" if request_id else ""
        return True

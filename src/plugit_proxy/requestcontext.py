"""The request being served: its id, and what the access log and the metrics learn about it.

Every HTTP request gets an id: the incoming `X-Request-ID` when the operator trusts the front
proxy (`PLUGIT_TRUST_REQUEST_ID`) and it has a sane shape, else a new random one. The id and
what is learnt along the way (the project, the service instance called, the route) live in a
`RequestRecord` held by a context variable, so any code serving the request (the pipeline, the
upstream client, a log line) reads it without it being passed around; tasks started while
serving copy the context and see the same record. A WebSocket's upgrade request gets one
just the same (pipeline/websocket.py), for the socket's whole life.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from plugit.protocol import HEADER_REQUEST_ID

__all__ = [
    "CURRENT",
    "MAX_ID_LENGTH",
    "RequestContextFilter",
    "RequestRecord",
    "current_id",
    "new_id",
    "record_for",
    "request_id_for",
    "with_request_id",
]

MAX_ID_LENGTH = 128
# What proxies and tracers write (UUIDs, hex, Heroku's and Envoy's ids): nothing a log line
# or an HTML page would need to escape.
_ID_SHAPE = re.compile(r"[A-Za-z0-9._:@+=-]+")
_HEADER = HEADER_REQUEST_ID.lower().encode("latin-1")


@dataclass(slots=True)
class RequestRecord:
    """What is known of one request so far (filled in as it is served)."""

    id: str
    method: str = ""
    path: str = ""
    client: str = ""
    project: str = ""  # the project's key, "" for the platform's own pages
    service: str = ""  # the base URL of the last service instance called
    route: str = ""  # the route within the project
    status: int = 0


CURRENT: ContextVar[RequestRecord | None] = ContextVar("plugit_request", default=None)


def new_id() -> str:
    """Give a new request id (32 hex digits)."""
    return uuid.uuid4().hex


def request_id_for(incoming: str, *, trusted: bool) -> str:
    """Give the id of a request that came with `incoming` (the X-Request-ID header, or "")."""
    if trusted and 0 < len(incoming) <= MAX_ID_LENGTH and _ID_SHAPE.fullmatch(incoming):
        return incoming
    return new_id()


def record_for(scope: Mapping[str, Any], *, trusted: bool) -> RequestRecord:
    """The record of an ASGI request (`http` or `websocket`), with its id (see `request_id_for`)."""
    incoming = ""
    for name, value in scope.get("headers") or ():
        if name == _HEADER:
            incoming = value.decode("latin-1")
            break
    return RequestRecord(
        request_id_for(incoming, trusted=trusted),
        method=scope.get("method", "GET"),
        path=scope.get("path", ""),
    )


def with_request_id(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` of a service call, with the request's id (when serving one)."""
    record = CURRENT.get()
    if record is None or HEADER_REQUEST_ID in headers:
        return headers
    return {**headers, HEADER_REQUEST_ID: record.id}


def current_id() -> str:
    """The id of the request being served, "" outside one."""
    record = CURRENT.get()
    return "" if record is None else record.id


class RequestContextFilter(logging.Filter):
    """Give every log record `request_id`, `project`, `service`, `route` (and `request_tag`).

    Put on a handler, it makes every line it writes carry the request it was written for;
    `request_tag` is " [<id>]" in a request and "" outside one, for text formats.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        current = CURRENT.get()
        if current is None:
            record.__dict__.setdefault("request_id", "")
            record.request_tag = ""
            return True
        values = record.__dict__
        values.setdefault("request_id", current.id)
        values.setdefault("project", current.project)
        values.setdefault("service", current.service)
        values.setdefault("route", current.route)
        record.request_tag = f" [{values['request_id']}]"
        return True

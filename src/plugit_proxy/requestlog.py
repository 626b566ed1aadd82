"""Around every HTTP request: its id, the `X-Request-ID` answer header, the access log, metrics.

One implementation for `plugit proxy` and `plugit platform serve` (uvicorn's own access log
stays off): a line per request on the `plugit_proxy.access` logger when PLUGIT_ACCESS_LOG is on,
in the process's log format (text or JSON lines, logformat.py), API keys masked. Health probes
(`/healthz`, `/readyz`) are logged at debug level only: a load balancer asks every second.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .platform.accesslog import redact
from .requestcontext import CURRENT, RequestRecord, record_for

__all__ = ["ACCESS_LOGGER", "PROBE_PATHS", "RequestLog", "note_page"]

ACCESS_LOGGER = "plugit_proxy.access"
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
_HEADER = b"x-request-id"

access_logger = logging.getLogger(ACCESS_LOGGER)


def note_page(project: str, route: str) -> None:
    """Tell the request's record which project and route it serves (pipeline entry)."""
    record = CURRENT.get()
    if record is not None:
        record.project, record.route = project, route


class RequestLog:
    """Give each request an id (echoed as `X-Request-ID`), count it, log it when asked."""

    def __init__(self, app: ASGIApp, *, trust_ids: bool, access_log: bool) -> None:
        self.app = app
        self.trust_ids = trust_ids
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        record = record_for(scope, trusted=self.trust_ids)
        echoed = (_HEADER, record.id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = CURRENT.set(record)
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            record.status = record.status or 500  # uvicorn answers 500 for what raised
            raise
        finally:
            seconds = time.perf_counter() - started
            metrics.request_done(record.project, record.status, seconds)
            if self.access_log:
                self._log(record, scope, seconds)
            CURRENT.reset(token)

    def _log(self, record: RequestRecord, scope: Scope, seconds: float) -> None:
        level = logging.DEBUG if record.path in PROBE_PATHS else logging.INFO
        if not access_logger.isEnabledFor(level):
            return
        query = scope.get("query_string", b"").decode("latin-1")
        path = redact(record.path + (f"?{query}" if query else ""))
        client = scope.get("client")
        address = client[0] if client else "-"
        milliseconds = round(seconds * 1000, 1)
        where = f" {record.project} {record.service}".rstrip() if record.project else ""
        access_logger.log(
            level,
            '%s "%s %s" %d %.1f ms%s',
            address,
            record.method,
            path,
            record.status,
            milliseconds,
            where,
            extra={
                "client": address,
                "method": record.method,
                "path": path,
                "status": record.status,
                "duration_ms": milliseconds,
            },
        )

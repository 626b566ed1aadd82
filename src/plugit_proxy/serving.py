"""How uvicorn serves the proxy: limits on what a client may make a connection wait for.

uvicorn's fast HTTP parser (httptools) puts no cap on the size of a request's head (request
line and headers) and no deadline on its arrival: an 8 MB cookie is parsed to the end, and a
client that sends its headers a byte at a time holds its connection forever. `HeadLimits`
is that protocol with both:

* a head larger than `MAX_HEAD` bytes is a 431 and the connection closes;
* a head that has not fully arrived `HEAD_TIMEOUT` seconds after the connection opened (or
  after the next request's first byte) is a 408 and the connection closes.

Bodies are limited by the application itself (`bodylimit.py`); idle keep-alive connections
by uvicorn (`timeout_keep_alive`). Should h11 be chosen instead, h11's own cap applies.

`serve_application` runs the proxy's ASGI application with these settings: what `plugit proxy`
and `plugit platform serve` do once `firststart.prepare` has passed. uvicorn's own start and
stop lines ("Started server process", "Waiting for application startup", ...) are left out
below `PLUGIT_LOG_LEVEL=debug`: the command has said where it listens; warnings, errors and
the access log (when on) still show.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard]

from .conf import Configuration, export_flags, set_metrics_dir
from .logformat import FILTER, handler_settings

__all__ = [
    "HEAD_TIMEOUT",
    "KEEP_ALIVE",
    "MAX_HEAD",
    "HeadLimits",
    "log_config",
    "serve_application",
    "server_options",
]

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT = 10.0
KEEP_ALIVE = 5.0


def server_options() -> dict[str, Any]:
    """The uvicorn settings of `plugit proxy` and `plugit platform serve`."""
    return {
        "http": HeadLimits,
        "h11_max_incomplete_event_size": MAX_HEAD,
        "timeout_keep_alive": KEEP_ALIVE,
        # The browser's address is the socket peer; X-Forwarded-For counts only as far as
        # PLUGIT_TRUSTED_PROXIES says (by the pipeline), never silently by uvicorn.
        "proxy_headers": False,
        "lifespan": "on",
    }


def serve_application(config: Configuration) -> None:
    """Serve the proxy's ASGI application with uvicorn (one worker per core by default).

    With one worker the application is built in this process, from the installed `config`;
    worker processes rebuild it from the environment and `PLUGIT_FLAGS` (plugit_proxy.conf).
    """
    server = config.server
    count = server.workers or os.cpu_count() or 1
    if count > 1:
        export_flags(config)
        _fresh_metrics_dir(server.data_dir / "metrics")
    # Django's LOGGING prints the proxy's lines; the root logger `plugit`'s command line set up
    # would print each a second time in this process (uvicorn's workers start without one).
    logging.getLogger("plugit_proxy").propagate = False
    uvicorn.run(
        "plugit_proxy.asgi:application",
        host=server.host,
        port=server.port,
        workers=count if count > 1 else None,
        **server_options(),  # header size and arrival deadline, keep-alive, no proxy headers
        # The access log is the application's (requestlog.py): the same in every mode.
        access_log=False,
        log_config=log_config(server.log_level, server.log_format),
        log_level=None,  # the levels are log_config's
    )


def _fresh_metrics_dir(folder: Path) -> None:
    """Empty the workers' metrics folder (a previous run's numbers must not count) and use it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    set_metrics_dir(folder)  # before uvicorn spawns the workers, which inherit it


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging set-up with its life-cycle lines kept for `debug`, access lines at `level`.

    Its lines carry the request's id, and are JSON objects with `log_format` "json".
    A dictionary, not a logger tweak: uvicorn applies it in each worker process it spawns.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request": FILTER}
    config["handlers"]["default"]["filters"] = ["request"]
    if log_format == "json":
        config["formatters"]["default"] = handler_settings(log_format)
    upper = level.upper()
    quiet = "DEBUG" if upper == "DEBUG" else max(upper, "WARNING", key=_severity)
    config["loggers"]["uvicorn"]["level"] = quiet
    config["loggers"]["uvicorn.error"]["level"] = quiet
    config["loggers"]["uvicorn.access"]["level"] = upper
    return config


def _severity(level: str) -> int:
    return int(logging.getLevelName(level))


def _refusal(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n" + text
    )


class HeadLimits(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size cap and a deadline on each request's head."""

    max_head = MAX_HEAD
    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = True  # a request's head is (or will be) arriving
        self._head_bytes = 0
        self._heads_done = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        done = self._heads_done
        super().data_received(data)
        # Count only what ends no head: a read that completes one may carry body bytes.
        if self._head_open and self._heads_done == done and self.parser is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head:
                self._refuse(b"431 Request Header Fields Too Large", b"Headers too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open, self._head_bytes = True, 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._heads_done += 1
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._head_open:
            self._refuse(b"408 Request Timeout", b"The request headers came too slowly.")

    def _refuse(self, status: bytes, text: bytes) -> None:
        self._head_open = False
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, text))
            self.transport.close()

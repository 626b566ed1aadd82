"""A real server on a free port, for tests that must cross a socket."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class LiveServer:
    """Serve an ASGI app with uvicorn on `host`, port 0, in a background thread.

    Use it as a context manager: `with LiveServer(app) as server: get(server.url + "/ping")`.
    The socket is bound before the thread starts, so `url` is valid at once and no test ever
    races a server that has not started (or silently talks to another one).
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", **config: Any) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config.setdefault("log_level", "warning")
        config.setdefault("lifespan", "on")
        # Like production: never let X-Forwarded-For replace the socket peer behind our back.
        config.setdefault("proxy_headers", False)
        config.setdefault("http", "h11")  # as `plugit serve`: header names keep their case
        self._server = uvicorn.Server(uvicorn.Config(app, **config))
        self._thread = threading.Thread(target=self._serve, name=f"LiveServer:{self.port}")
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. `http://127.0.0.1:40213`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> LiveServer:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} failed to start") from (
                    self._failure
                )
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as error:  # reported by start()
            self._failure = error

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

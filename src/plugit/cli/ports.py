"""The port a command is about to listen on: checked before anything is printed or started.

`plugit serve`, `plugit proxy`, `plugit demo` and `plugit platform serve` call
`ensure_port_free` first, so a port in use is one line naming the port and the fix, never a
banner followed by uvicorn's traceback-like log, and nothing half started.
"""

from __future__ import annotations

import errno
import socket

from plugit.exceptions import ConfigurationError

__all__ = ["PORT_VARIABLE", "ensure_port_free"]

PORT_VARIABLE = "PLUGIT_PORT"
HIGHEST_PORT = 65535


def ensure_port_free(
    host: str, port: int, *, flag: str = "--port", variable: str | None = PORT_VARIABLE
) -> None:
    """Fail with one clear line when nobody can listen on host:port (e.g. it is taken).

    The line names the fix: the `flag` that chooses the port, and its `variable` if any.
    """
    fix = f"choose another with {flag}" + (f" (or {variable})" if variable else "")
    if not 0 <= port <= HIGHEST_PORT:
        raise ConfigurationError(f"port {port} does not exist: {fix}, from 1 to {HIGHEST_PORT}")
    if port == 0:  # any free port: nothing to check
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as error:  # socket.gaierror too: a host name that resolves to nothing
            if error.errno == errno.EADDRINUSE:
                reason = "it is already in use: stop what uses it or"
            else:
                reason = f"{error.strerror or error}:"
            raise ConfigurationError(f"cannot listen on {host}:{port}, {reason} {fix}") from None

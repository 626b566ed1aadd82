"""`plugit serve module:attr`: serve a service (a `Service` or any ASGI app) with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from plugit.cli.envsettings import setting_int, setting_text
from plugit.cli.ports import ensure_port_free
from plugit.exceptions import ConfigurationError

__all__ = ["register"]

# The files whose change restarts a server run with --reload: the code, and the templates
# (a service reads each template once, unless it runs with DEBUG).
RELOAD_PATTERNS = ["*.py", "*.html"]


def register(commands: Any) -> None:
    """Add the `serve` subcommand."""
    parser = commands.add_parser(
        "serve",
        help="serve a PlugIt service with uvicorn",
        description="Serve a PlugIt service (a Service, or any ASGI app) with uvicorn, from "
        "the current directory. Flags win over their PLUGIT_* variables.",
    )
    parser.add_argument("target", help="the service as module:attribute, e.g. app:service")
    parser.add_argument(
        "--host",
        help="address to listen on, 127.0.0.1 by default (PLUGIT_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        help="port to listen on, 5000 by default (PLUGIT_PORT)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes, 1 by default (PLUGIT_WORKERS)",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="development: restart when a .py or .html file below the current directory "
        "changes (pair it with `plugit proxy --dev`)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Import the target and serve it until interrupted."""
    # The variables are read here, not while the parser is built: a bad one is this
    # command's one-line error, and no concern of `plugit new` or `plugit --help`.
    host = args.host or setting_text("PLUGIT_HOST", "127.0.0.1")
    port = setting_int("PLUGIT_PORT", 5000) if args.port is None else args.port
    workers = setting_int("PLUGIT_WORKERS", 1, minimum=1) if args.workers is None else args.workers
    serve(args.target, host=host, port=port, workers=workers, reload=args.reload)
    return 0


def serve(
    target: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    reload: bool = False,
) -> None:
    """Serve `module:attr` on host:port (checking the import first for a clear error).

    With `reload`, a watcher process restarts the server whenever a `.py` or `.html` file
    below the working directory changes: the code, and the templates the service reads once.
    """
    import uvicorn

    from plugit.importer import import_from_string
    from plugit.service import WIRE_CASE_HTTP

    if reload and workers > 1:
        raise ConfigurationError(
            f"--reload runs one process, not {workers} workers (--workers, PLUGIT_WORKERS)"
        )
    import_from_string(target)
    ensure_port_free(host, port)
    uvicorn.run(
        target,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        app_dir=os.getcwd(),
        **(reload_options(os.getcwd()) if reload else {}),
        # uvicorn would otherwise replace the socket peer by X-Forwarded-For from 127.0.0.1,
        # behind the network guard's back: PI_USE_PROXY_IP is the one switch for that.
        proxy_headers=False,
        http=WIRE_CASE_HTTP,  # keeps the case of SetSession keys on the wire
    )


def reload_options(directory: str) -> dict[str, Any]:
    """uvicorn's options to restart on a change of code or templates below `directory`."""
    # The watcher logs every file event at INFO, those it then ignores too (a database file).
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    return {"reload": True, "reload_dirs": [directory], "reload_includes": RELOAD_PATTERNS}

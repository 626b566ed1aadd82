"""`plugit serve module:attr`: serve a service (a `Service` or any ASGI app) with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from typing import Any

from plugit.cli.announce import Announcement, Announcer, announced_url
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
    parser.add_argument(
        "target",
        nargs="?",
        help="the service as module:attribute, e.g. app:service (not with --all)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="serve every service of the project in the current directory (plugit new "
        "project), each under /NAME/",
    )
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
    register_flags(parser)
    parser.set_defaults(handler=run)


def register_flags(parser: argparse.ArgumentParser) -> None:
    """Add the self-registration flags (docs/routing.md)."""
    group = parser.add_argument_group("self-registration with a platform")
    group.add_argument(
        "--register",
        metavar="PLATFORM_URL",
        help="announce this instance to the platform at this URL while it runs",
    )
    group.add_argument("--project", help="the project's slug on the platform (with --register)")
    group.add_argument(
        "--version", default="production", help="the version this instance serves (production)"
    )
    group.add_argument(
        "--public-url",
        help="the URL the platform calls this instance at (default: http://HOST:PORT/)",
    )
    group.add_argument(
        "--api-key", help="the project's API key (default: PLUGIT_API_KEY, then PI_API_KEY)"
    )


def run(args: argparse.Namespace) -> int:
    """Import the target and serve it until interrupted."""
    # The variables are read here, not while the parser is built: a bad one is this
    # command's one-line error, and no concern of `plugit new` or `plugit --help`.
    host = args.host or setting_text("PLUGIT_HOST", "127.0.0.1")
    port = setting_int("PLUGIT_PORT", 5000) if args.port is None else args.port
    workers = setting_int("PLUGIT_WORKERS", 1, minimum=1) if args.workers is None else args.workers
    if args.all:
        from plugit.cli.serveall import PROJECT_FACTORY, prepare_all

        prepare_all(args, host=host, port=port)
        serve(
            PROJECT_FACTORY, host=host, port=port, workers=workers, reload=args.reload, factory=True
        )
        return 0
    if not args.target:
        raise ConfigurationError(
            "name the service to serve (module:attribute, e.g. service:service), or --all"
        )
    announcer = _announcer(args, host, port)
    serve(
        args.target, host=host, port=port, workers=workers, reload=args.reload, announcer=announcer
    )
    return 0


def _announcer(args: argparse.Namespace, host: str, port: int) -> Announcer | None:
    """The registration `--register` asks for (None without it)."""
    if not args.register:
        return None
    if not args.project:
        raise ConfigurationError("--register needs --project SLUG (the project's slug)")
    key = args.api_key or setting_text("PLUGIT_API_KEY", "") or setting_text("PI_API_KEY", "")
    if not key:
        raise ConfigurationError(
            "--register needs the project's API key: --api-key KEY or PLUGIT_API_KEY"
        )
    url = announced_url(host, port, args.public_url)
    announcement = Announcement(
        platform_url=args.register,
        project=args.project,
        version=args.version,
        url=url,
        api_key=key,
    )
    local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    local = f"[{local}]" if ":" in local else local
    return Announcer(announcement, local_url=f"http://{local}:{port}/ping")


def serve(
    target: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    reload: bool = False,
    announcer: Announcer | None = None,
    factory: bool = False,
) -> None:
    """Serve `module:attr` on host:port (checking the import first for a clear error).

    With `reload`, a watcher process restarts the server whenever a `.py` or `.html` file
    below the working directory changes: the code, and the templates the service reads once.
    With `announcer`, the instance is registered with a platform while it runs.
    """
    from plugit.importer import import_from_string

    if reload and workers > 1:
        raise ConfigurationError(
            f"--reload runs one process, not {workers} workers (--workers, PLUGIT_WORKERS)"
        )
    if not factory:  # a factory (--all) was checked by its caller
        import_from_string(target)
    ensure_port_free(host, port)
    if announcer is not None:
        # uvicorn stops on SIGTERM, then raises it again: let that end us through `finally`.
        signal.signal(signal.SIGTERM, _exit_on_request)
        announcer.start()  # registers once the server answers
    try:
        _run_uvicorn(target, host=host, port=port, workers=workers, reload=reload, factory=factory)
    finally:
        if announcer is not None:
            announcer.stop()  # deregisters: the server has stopped


def _exit_on_request(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _run_uvicorn(
    target: str, *, host: str, port: int, workers: int, reload: bool, factory: bool = False
) -> None:
    import uvicorn

    from plugit.service import WIRE_CASE_HTTP

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
        factory=factory,
    )


def reload_options(directory: str) -> dict[str, Any]:
    """uvicorn's options to restart on a change of code or templates below `directory`."""
    # The watcher logs every file event at INFO, those it then ignores too (a database file).
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    return {"reload": True, "reload_dirs": [directory], "reload_includes": RELOAD_PATTERNS}

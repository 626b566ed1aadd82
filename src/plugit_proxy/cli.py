"""`plugit proxy`: run the standalone proxy in front of a service under development.

Every flag also reads a `PLUGIT_*` environment variable; flags win. The settings reach the
worker processes through those same variables.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from .config import LAYOUTS

__all__ = ["main", "register", "run_proxy"]

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"


def _env_bool(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    return value in {"1", "true", "yes", "on"}


def _env_layout() -> str | None:
    """Read PLUGIT_LAYOUT, refusing a value that names no layout."""
    value = os.environ.get("PLUGIT_LAYOUT", "").strip().lower()
    if value and value not in LAYOUTS:
        raise SystemExit(
            f"PLUGIT_LAYOUT={value!r} is not a layout: use one of {', '.join(LAYOUTS)}."
        )
    return value or None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `proxy` subcommand to the `plugit` command line."""
    parser = subparsers.add_parser(
        "proxy",
        help="run the standalone proxy in front of a service",
        description="Serve a PlugIt service under /plugIt/ with simulated users and organisations.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=_handle)

    from .mail.cli import register as register_mail
    from .platform.cli import register as register_platform

    register_platform(subparsers)
    register_mail(subparsers)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the proxy's flags (each with its PLUGIT_* variable)."""
    env = os.environ.get
    parser.add_argument(
        "--service",
        default=env("PLUGIT_SERVICE_URL"),
        help="base URL of the service, e.g. http://127.0.0.1:5000 (PLUGIT_SERVICE_URL)",
    )
    parser.add_argument("--host", default=env("PLUGIT_HOST", DEFAULT_HOST), help="(PLUGIT_HOST)")
    parser.add_argument(
        "--port", type=int, default=int(env("PLUGIT_PORT", DEFAULT_PORT)), help="(PLUGIT_PORT)"
    )
    parser.add_argument(
        "--orga-mode",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("PLUGIT_ORGA_MODE"),
        help="organisation mode, on by default (PLUGIT_ORGA_MODE)",
    )
    parser.add_argument(
        "--proxy-mode",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("PLUGIT_PROXY_MODE"),
        help="forward requests as they are, no meta/template calls (PLUGIT_PROXY_MODE)",
    )
    parser.add_argument(
        "--menu-action",
        default=env("PLUGIT_MENU_ACTION"),
        help="action whose template gives the side menu, 'menubar' by default; '' for none "
        "(PLUGIT_MENU_ACTION)",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=_env_layout(),
        help="page layout services' templates extend: 'modern' (Bootstrap 5, the default) or "
        "'legacy' (Bootstrap 3 and jQuery, for services written for the original PlugIt) "
        "(PLUGIT_LAYOUT)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("PLUGIT_WORKERS", "0")) or None,
        help="worker processes, the number of cores by default (PLUGIT_WORKERS)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("PLUGIT_ACCESS_LOG"),
        help="log every request (uvicorn's access log), off by default (PLUGIT_ACCESS_LOG)",
    )
    parser.add_argument(
        "--data-dir",
        default=env("PLUGIT_DATA_DIR"),
        help="database and secret key, ./.plugit by default (PLUGIT_DATA_DIR)",
    )


def _handle(args: argparse.Namespace) -> int:
    return run_proxy(
        service=args.service,
        host=args.host,
        port=args.port,
        orga_mode=args.orga_mode,
        proxy_mode=args.proxy_mode,
        menu_action=args.menu_action,
        layout=args.layout,
        workers=args.workers,
        data_dir=args.data_dir,
        access_log=bool(args.access_log),
    )


def run_proxy(
    *,
    service: str | None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    orga_mode: bool | None = None,
    proxy_mode: bool | None = None,
    menu_action: str | None = None,
    layout: str | None = None,
    workers: int | None = None,
    data_dir: str | None = None,
    access_log: bool = False,
) -> int:
    """Prepare the data directory and database, then serve the proxy with uvicorn."""
    _export(
        PLUGIT_SERVICE_URL=service,
        PLUGIT_ORGA_MODE=None if orga_mode is None else str(orga_mode),
        PLUGIT_PROXY_MODE=None if proxy_mode is None else str(proxy_mode),
        PLUGIT_MENU_ACTION=menu_action,
        PLUGIT_LAYOUT=layout,
        PLUGIT_DATA_DIR=data_dir,
    )
    from .firststart import prepare
    from .serving import serve_application

    if not prepare():
        return 2
    target = os.environ.get("PLUGIT_SERVICE_URL")
    print(f"PlugIt proxy: http://{host}:{port}/plugIt/ -> {target}")
    serve_application(host=host, port=port, workers=workers, access_log=access_log)
    return 0


def _export(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    """Run `python -m plugit_proxy [flags]` (the same as `plugit proxy`)."""
    parser = argparse.ArgumentParser(prog="python -m plugit_proxy")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return _handle(args)

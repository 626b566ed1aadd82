"""`plugit proxy`: run the standalone proxy in front of a service under development.

Every flag also reads a `PLUGIT_*` environment variable; flags win. Both meet in one place,
plugit_proxy.conf: the flags given here are handed to it by their variables' names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from plugit.cli.parser import CommandParser
from plugit.exceptions import PlugItError

from .conf import Configuration, load_configuration
from .config import LAYOUTS

__all__ = ["configuration_from_args", "main", "register", "run_proxy"]

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
# Each flag and the variable it stands for.
FLAG_VARIABLES = {
    "service": "PLUGIT_SERVICE_URL",
    "versions": "PLUGIT_VERSIONS",
    "routes": "PLUGIT_ROUTES",
    "shadows": "PLUGIT_SHADOW",
    "host": "PLUGIT_HOST",
    "port": "PLUGIT_PORT",
    "orga_mode": "PLUGIT_ORGA_MODE",
    "proxy_mode": "PLUGIT_PROXY_MODE",
    "menu_action": "PLUGIT_MENU_ACTION",
    "layout": "PLUGIT_LAYOUT",
    "workers": "PLUGIT_WORKERS",
    "access_log": "PLUGIT_ACCESS_LOG",
    "data_dir": "PLUGIT_DATA_DIR",
    "dev": "PLUGIT_DEV",
}


def register(subparsers: Any) -> None:
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
    """Declare the proxy's flags (each stands for its PLUGIT_* variable)."""
    parser.add_argument(
        "--service",
        action="append",
        help="base URL of the service, e.g. http://127.0.0.1:5000; repeat it for several "
        "instances of production (PLUGIT_SERVICE_URL, comma-separated)",
    )
    parser.add_argument(
        "--version",
        action="append",
        dest="versions",
        metavar="NAME=URL",
        help="an instance of a named version, e.g. dev=http://127.0.0.1:5001; repeatable "
        "(PLUGIT_VERSIONS, comma-separated); see docs/routing.md",
    )
    parser.add_argument(
        "--route",
        action="append",
        dest="routes",
        metavar="NAME=RULE",
        help="who sees version NAME, first match wins; RULE: users:NAME,NAME, orgas:CODOPS,"
        "CODOPS, admins, members, percent:N or opt-in; repeatable (PLUGIT_ROUTES, "
        "';'-separated)",
    )
    parser.add_argument(
        "--shadow",
        action="append",
        dest="shadows",
        metavar="NAME",
        help="a version that is never shown, only sent copies of requests; repeatable "
        "(PLUGIT_SHADOW, comma-separated)",
    )
    parser.add_argument("--host", help=f"{DEFAULT_HOST} by default (PLUGIT_HOST)")
    parser.add_argument("--port", type=int, help=f"{DEFAULT_PORT} by default (PLUGIT_PORT)")
    parser.add_argument(
        "--orga-mode",
        action=argparse.BooleanOptionalAction,
        help="organisation mode, on by default (PLUGIT_ORGA_MODE)",
    )
    parser.add_argument(
        "--proxy-mode",
        action=argparse.BooleanOptionalAction,
        help="forward requests as they are, no meta/template calls (PLUGIT_PROXY_MODE)",
    )
    parser.add_argument(
        "--menu-action",
        help="action whose template gives the side menu, 'menubar' by default; '' for none "
        "(PLUGIT_MENU_ACTION)",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="page layout services' templates extend: 'modern' (Bootstrap 5, the default) or "
        "'legacy' (Bootstrap 3 and jQuery, for services written for the original PlugIt) "
        "(PLUGIT_LAYOUT)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes, the number of cores by default (PLUGIT_WORKERS)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        help="log every request (uvicorn's access log), off by default (PLUGIT_ACCESS_LOG)",
    )
    parser.add_argument(
        "--data-dir", help="database and secret key, ./.plugit by default (PLUGIT_DATA_DIR)"
    )
    parser.add_argument(
        "--dev",
        action=argparse.BooleanOptionalAction,
        help="development mode: cache nothing, show the service's errors in the page, "
        "off by default (PLUGIT_DEV)",
    )


def configuration_from_args(args: argparse.Namespace) -> Configuration:
    """Build the configuration from the flags given, then the environment."""
    return load_configuration(_flags(**{name: getattr(args, name) for name in FLAG_VARIABLES}))


def _flags(**values: Any) -> dict[str, Any]:
    return {FLAG_VARIABLES[name]: value for name, value in values.items() if value is not None}


def _handle(args: argparse.Namespace) -> int:
    return serve_proxy(configuration_from_args(args))


def run_proxy(
    *,
    service: str | Sequence[str] | None,
    versions: Sequence[str] | None = None,
    routes: Sequence[str] | None = None,
    shadows: Sequence[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    orga_mode: bool | None = None,
    proxy_mode: bool | None = None,
    menu_action: str | None = None,
    layout: str | None = None,
    workers: int | None = None,
    data_dir: str | None = None,
    access_log: bool | None = None,
    dev: bool | None = None,
) -> int:
    """Serve the proxy with these settings (None: the environment's, else the default)."""
    flags = _flags(
        service=[service] if isinstance(service, str) else service,
        versions=versions,
        routes=routes,
        shadows=shadows,
        host=host,
        port=port,
        orga_mode=orga_mode,
        proxy_mode=proxy_mode,
        menu_action=menu_action,
        layout=layout,
        workers=workers,
        data_dir=data_dir,
        access_log=access_log,
        dev=dev,
    )
    return serve_proxy(load_configuration(flags))


def serve_proxy(config: Configuration) -> int:
    """Prepare the data directory and database, then serve the proxy with uvicorn."""
    from plugit.cli.ports import ensure_port_free

    from .firststart import prepare
    from .serving import serve_application
    from .startinfo import announce

    server = config.server
    ensure_port_free(server.host, server.port)  # before anything is printed or migrated
    if not prepare(config):
        return 2
    target = config.standalone.service_url
    announce(f"PlugIt proxy: http://{server.host}:{server.port}/plugIt/ -> {target}", config)
    serve_application(config)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run `python -m plugit_proxy [flags]` (the same as `plugit proxy`)."""
    parser = CommandParser(
        prog="python -m plugit_proxy",
        description="The standalone proxy, as `plugit proxy`: serve a PlugIt service under "
        "/plugIt/ with simulated users and organisations.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return _handle(args)
    except PlugItError as error:
        print(f"plugit: error: {error}", file=sys.stderr)
        return 2

"""`plugit platform apply|serve`: set a platform up from a file, and run it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add the `platform` command group."""
    parser = commands.add_parser(
        "platform",
        help="the hosted platform: apply a file, serve it",
        description="The hosted platform: set its organisations, users and projects up from "
        "a TOML file (apply), and serve it (serve). Settings come from PLUGIT_* variables.",
    )
    actions = parser.add_subparsers(dest="platform_command", required=True, metavar="ACTION")

    apply = actions.add_parser(
        "apply",
        help="create or update organisations, users, projects from a TOML file",
        description="Create or update the organisations, users and projects that a TOML "
        "file describes; a wrong file changes nothing (every problem is listed).",
    )
    apply.add_argument("file", type=Path, help="the platform file, e.g. platform.toml")
    apply.set_defaults(handler=_apply)

    serve = actions.add_parser(
        "serve",
        help="serve the platform (migrates the database first)",
        description="Serve the platform with uvicorn, after migrating its database. Flags win "
        "over their PLUGIT_* variables.",
    )
    serve.add_argument("--host", help="127.0.0.1 by default (PLUGIT_HOST)")
    serve.add_argument("--port", type=int, help="8000 by default (PLUGIT_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: the number of cores) (PLUGIT_WORKERS)",
    )
    serve.set_defaults(handler=_serve)

    status = actions.add_parser(
        "status",
        help="list every project's versions and instances, with their health",
        description="List every project, its versions and instances: configured ones, and "
        "those registered by `plugit serve --register` (approved or pending, last heartbeat), "
        "with the health the platform's processes share.",
    )
    status.add_argument(
        "--metrics-url",
        help="print the status page's lines instead: with the numbers (calls, failures, "
        "latency, breakers, requests, outbox) of the running process whose /metrics this is, "
        "e.g. http://127.0.0.1:8001/metrics (PLUGIT_METRICS_TOKEN is sent when set)",
    )
    status.set_defaults(handler=_status)


def _apply(args: argparse.Namespace) -> int:
    from plugit_proxy.platform.apply import apply_file

    return apply_file(args.file)


def _serve(args: argparse.Namespace) -> int:
    from plugit_proxy.platform.serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def _status(args: argparse.Namespace) -> int:
    from plugit_proxy.platform.apply import setup_django

    setup_django()
    if args.metrics_url:
        from plugit_proxy.platform.statusboard import print_board

        return print_board(args.metrics_url, sys.stdout, sys.stderr)
    from plugit_proxy.registry.status import print_status

    return print_status()

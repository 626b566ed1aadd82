"""`plugit check URL [ROUTE...]`: hold a running service's answers to the protocol."""

from __future__ import annotations

import argparse
import logging
import urllib.parse
from typing import Any

from plugit.exceptions import ConfigurationError

__all__ = ["register"]

USER_MODES = ("ano", "log", "mem", "adm")


def register(commands: Any) -> None:
    """Add the `check` subcommand."""
    parser = commands.add_parser(
        "check",
        help="check a running service against the PlugIt protocol",
        description="Call a running service the way a proxy does (ping, version, then meta, "
        "template and action of each route) and report each answer the protocol does not "
        "expect. Exit status: 0 clean, 1 findings of level error, 2 no service to check.",
    )
    parser.add_argument("url", help="the service's base URL, PI_BASE_URL included")
    parser.add_argument(
        "routes",
        nargs="*",
        metavar="ROUTE",
        help="paths of actions to check, e.g. / /show/1 (default: the routes a service of "
        "this SDK lists when it runs with DEBUG)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (default: text lines)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail on warnings too (default: errors only)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for each answer (default: %(default)s)",
    )
    parser.add_argument(
        "--user",
        choices=USER_MODES,
        default="adm",
        help="the simulated user the actions are called for, as in the standalone proxy "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--post",
        action="store_true",
        help="also call with POST the actions that take it (default: GET only; a POST may "
        "change the service's data)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the service; print the report; 0 when it passes, else 1."""
    from plugit.check import CheckOptions, as_json, as_text, check_service

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the report says what was called
    check_url(args.url)
    if args.timeout <= 0:
        raise ConfigurationError(f"--timeout must be positive, got {args.timeout:g}")
    options = CheckOptions(
        routes=tuple(args.routes), timeout=args.timeout, user=args.user, post=args.post
    )
    report = check_service(args.url, options)
    print(as_json(report, strict=args.strict) if args.json else as_text(report, strict=args.strict))
    return 0 if report.passed(strict=args.strict) else 1


def check_url(url: str) -> None:
    """Refuse anything but an http(s) URL with a host, naming it."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{url!r} is not a service URL: give one like http://127.0.0.1:5000/"
        )

"""The `plugit` command: a thin layer over importable functions."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from plugit.cli import check, demo, dev, new, serve
from plugit.cli.extras import add_missing_commands, proxy_installed
from plugit.cli.parser import CommandParser, version_line
from plugit.exceptions import PlugItError
from plugit.requestid import RequestIdFilter

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The `plugit` parser with every subcommand this installation offers."""
    parser = CommandParser(
        prog="plugit", description="Develop once, deploy many: PlugIt services and proxies."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_line(),
        help="show the installed distribution and its version, and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(commands)
    new.register(commands)
    check.register(commands)
    if proxy_installed():  # else the SDK alone: pip install 'plugit3[proxy]' for these
        from plugit_proxy.cli import register as register_proxy

        register_proxy(commands)
        demo.register(commands)  # it runs the proxy
        dev.register(commands)  # it runs the proxy too
    add_missing_commands(commands)  # last: the commands above that are not installed
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors are one clear line on stderr, never a traceback."""
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s%(request_tag)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:  # an action's lines name its request's id
        handler.addFilter(RequestIdFilter())
    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
    except PlugItError as error:
        print(f"plugit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)

"""`plugit new service NAME`: scaffold a working service (filled in by the scaffold module)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add the `new` subcommand."""
    parser = commands.add_parser("new", help="scaffold a new service")
    parser.add_argument("kind", choices=["service"])
    parser.add_argument("name")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the new service's files."""
    raise NotImplementedError

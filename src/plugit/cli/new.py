"""`plugit new service NAME`: scaffold a working service (see `plugit.scaffold`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from plugit.scaffold import create_service, written_files

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `new` subcommand."""
    parser = commands.add_parser(
        "new",
        help="scaffold a new service",
        description="Write a new service that passes its own tests: service.py, config.py, "
        "templates/, media/, tests/ and a pyproject.toml, in a new folder NAME.",
    )
    parser.add_argument("kind", choices=["service"], help="what to create")
    parser.add_argument("name", help="its name, e.g. my_service; also the folder created")
    parser.add_argument(
        "--directory",
        "-d",
        type=Path,
        default=None,
        help="where to create the folder (default: the current directory)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the new service's files and say what to do next."""
    target = create_service(args.name, args.directory or Path.cwd())
    print(f"Created the service {args.name!r} in {_shown(target)}:")
    for path in written_files(target):
        print(f"  {path.as_posix()}")
    print(
        "\nNext:\n"
        f"  cd {_shown(target)}\n"
        "  pip install -e '.[test]'                       # install it, with pytest\n"
        "  python -m pytest                               # run its tests\n"
        "  plugit serve service:service --port 5000       # serve it\n"
        "\nTo browse it, install the proxy (pip install 'plugit3[proxy]'), then either\n"
        "  plugit proxy --service http://127.0.0.1:5000   # in a second terminal, beside serve\n"
        "or, instead of both serve and proxy:\n"
        "  plugit dev                                     # both, reloading on every change"
    )
    return 0


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()

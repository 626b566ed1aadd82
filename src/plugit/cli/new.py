"""`plugit new service|project NAME`: scaffold a working service or project (`plugit.scaffold`).

Run inside a project (a folder made by `plugit new project`, or below it), `plugit new
service` adds the service to that project instead of writing a service of its own.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from plugit.project import ProjectFolder, find_project
from plugit.scaffold import (
    ScaffoldError,
    add_service,
    create_project,
    create_service,
    written_files,
)

__all__ = ["register"]

FIRST_SERVICE = "hello"


def register(commands: Any) -> None:
    """Add the `new` subcommand."""
    parser = commands.add_parser(
        "new",
        help="scaffold a new service or project",
        description="Write a new service that passes its own tests (service.py, config.py, "
        "templates/, media/, tests/ and a pyproject.toml) in a new folder NAME; inside a "
        "project, add the service to it. A project holds several services with one config, "
        "one test suite, and `plugit serve --all` to serve them in one process.",
    )
    parser.add_argument("kind", choices=["service", "project"], help="what to create")
    parser.add_argument("name", help="its name, e.g. my_service; also the folder created")
    parser.add_argument(
        "--directory",
        "-d",
        type=Path,
        default=None,
        help="where to create it (default: the current directory)",
    )
    parser.add_argument(
        "--service",
        action="append",
        dest="services",
        metavar="SERVICE",
        help=f"a project's first service; repeatable (default: {FIRST_SERVICE})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the new service or project and say what to do next."""
    directory = args.directory or Path.cwd()
    if args.kind == "project":
        return _new_project(args.name, directory, args.services or [FIRST_SERVICE])
    if args.services:
        raise ScaffoldError(
            "--service names a project's first services: use it with `plugit new project NAME`"
        )
    project = find_project(directory)
    if project is not None:
        return _new_service_in(project, args.name)
    return _new_service(args.name, directory)


def _new_service(name: str, directory: Path) -> int:
    target = create_service(name, directory)
    print(f"Created the service {name!r} in {_shown(target)}:")
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


def _new_project(name: str, directory: Path, services: list[str]) -> int:
    target = create_project(name, directory, services)
    print(f"Created the project {name!r} in {_shown(target)}:")
    for path in written_files(target):
        print(f"  {path.as_posix()}")
    print(
        "\nNext:\n"
        f"  cd {_shown(target)}\n"
        "  pip install -e '.[test]'                       # install it, with pytest\n"
        "  python -m pytest                               # run its tests\n"
        "  plugit serve --all --port 5000                 # serve every service in one process\n"
        "\nTo browse a service, install the proxy (pip install 'plugit3[proxy]'), then\n"
        f"  plugit proxy --service http://127.0.0.1:5000/{services[0]}/   # in a second terminal\n"
        "\nAdd a service (from the project's folder):\n"
        "  plugit new service NAME"
    )
    return 0


def _new_service_in(project: ProjectFolder, name: str) -> int:
    written = add_service(project.root, name)
    print(f"Added the service {name!r} to the project {project.name!r} ({_shown(project.root)}):")
    for path in written:
        print(f"  {path.as_posix()}")
    print(
        "\nNext (from the project's folder):\n"
        f"  python -m pytest tests/test_{name}.py          # run its tests\n"
        f"  plugit serve --all --port 5000                 # it is served at /{name}/"
    )
    return 0


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()

"""`plugit serve --all`: every service of a project in one process, each under /NAME/."""

from __future__ import annotations

import argparse
from pathlib import Path

from plugit.cli.ports import ensure_port_free
from plugit.exceptions import ConfigurationError
from plugit.project import MARKER, ProjectFolder, find_project

__all__ = ["PROJECT_FACTORY", "platform_entries", "prepare_all"]

# What uvicorn imports in each worker: a factory that bundles the working directory's project.
PROJECT_FACTORY = "plugit.project:project_app"


def prepare_all(args: argparse.Namespace, *, host: str, port: int) -> None:
    """Load the project found from the working directory; print each service's base URL.

    Then serve PROJECT_FACTORY: each worker bundles the project again.
    """
    if args.target:
        raise ConfigurationError(f"--all serves the whole project: leave out {args.target!r}")
    if getattr(args, "register", None):
        raise ConfigurationError(
            "--register announces one project; with --all each service is a project of its "
            "own: list them in the platform file (the entries printed at start)"
        )
    project = find_project(Path.cwd())
    if project is None:
        raise ConfigurationError(
            f"--all serves a project's services, and {Path.cwd()} is not in a project "
            f"(no {MARKER}): create one with `plugit new project NAME`"
        )
    bundle = project.bundle()  # imports every service now: an error is one line, here
    ensure_port_free(host, port)  # before the banner, as every command does
    base = f"http://{_url_host(host)}:{port}"
    count = len(bundle.services)
    print(f"Project {project.name!r}: {count} service{'' if count == 1 else 's'} on {base}/")
    for prefix in bundle.prefixes():
        print(f"  {base}{prefix}")
    print("\nOn a platform, each is a project of its own (platform.toml):\n")
    print(platform_entries(project, base))


def platform_entries(project: ProjectFolder, base: str) -> str:
    """The platform file's `[[projects]]` entries for the project's services at `base`."""
    return "\n".join(
        f'[[projects]]\nslug = "{name}"\nname = "{name}"\nservices = ["{base}/{name}/"]\n'
        for name in project.service_names()
    )


def _url_host(host: str) -> str:
    """`host` as written in a URL: an unspecified address becomes the loopback one."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{shown}]" if ":" in shown else shown

"""`plugit platform apply`: bring the database in line with a platform file.

The file is read and checked whole first (plugit_proxy.platform.schema); only a valid file
migrates the database and is applied, in one transaction (plugit_proxy.platform.sync).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

__all__ = ["apply_file", "setup_django"]

EXIT_OK = 0
EXIT_DATABASE = 1
EXIT_FILE = 2


def apply_file(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Apply the platform file at `path`; return the process exit code.

    0: applied (or nothing to change); 2: the file is wrong (every problem is listed on
    stderr); 1: the database refused. In both error cases nothing was changed.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    setup_django()
    from django.db import DatabaseError

    from ..firststart import migrate_database
    from .schema import PlatformFileError, read_platform_file
    from .sync import sync_platform

    try:
        platform = read_platform_file(path, environ)
        migrate_database()
        report = sync_platform(platform)
    except PlatformFileError as error:
        print(error, file=err)
        print(f"plugit: {path} was not applied; nothing was changed.", file=err)
        return EXIT_FILE
    except DatabaseError as error:
        print(f"plugit: error: the database refused {path}: {error}", file=err)
        print("plugit: nothing was changed.", file=err)
        return EXIT_DATABASE
    for slug, key in report.new_keys.items():
        print(f"API key for project {slug!r}: {key} (shown once)", file=out)
    print(f"organisations: {report.organisations}", file=out)
    print(f"users: {report.users}", file=out)
    print(f"projects: {report.projects}", file=out)
    print(f"{path}: {'applied' if report.changed else 'unchanged'}", file=out)
    return EXIT_OK


def setup_django() -> None:
    """Set Django up, unless the caller (a test, a management command) already has."""
    from django.apps import apps

    if apps.ready:
        return
    from ..setup import configure
    from .serve import platform_configuration

    configure(platform_configuration())  # the platform's settings, as `serve` has them

"""The start-up work that must run once per data folder: one process at a time.

Several processes may start at the same moment in the same folder (two `plugit proxy`, a
proxy and the mail worker, a compose file starting everything at once). Migrating one SQLite
file from two processes fails half way ("index ... already exists"), so the work runs under
an exclusive `flock` on a file of the data folder: the second process waits, then finds the
schema up to date and has nothing left to do.

`prepare` is the start-up of `plugit proxy` and `plugit platform serve`: Django set up, the
database reached, the system checks passed, then the database migrated under that lock. A
database that cannot be reached is one line naming `PLUGIT_DATABASE_URL`, never a traceback;
the checks say nothing when they find nothing (their warnings and errors are shown), unless
`PLUGIT_LOG_LEVEL=debug`.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from plugit.exceptions import ConfigurationError

from .conf import Configuration, current_configuration
from .envvalues import hide_password
from .setup import configure

__all__ = [
    "LOCK_NAME",
    "ensure_database_reachable",
    "first_start_lock",
    "migrate_database",
    "prepare",
]

LOCK_NAME = "first-start.lock"


@contextlib.contextmanager
def first_start_lock(directory: Path) -> Iterator[None]:
    """Hold the data folder's start-up lock (waiting for another process that holds it)."""
    descriptor = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released by the kernel if the process dies
        yield
    finally:
        os.close(descriptor)


def migrate_database() -> None:
    """Bring the database schema up to date, one process of this data folder at a time."""
    from django.conf import settings
    from django.core.management import call_command

    ensure_database_reachable()
    with first_start_lock(Path(settings.DATA_DIR)):
        call_command("migrate", interactive=False, verbosity=0)


def ensure_database_reachable() -> None:
    """Connect to the database once; one line naming PLUGIT_DATABASE_URL if that fails."""
    from django.db import DatabaseError, connection

    try:
        connection.ensure_connection()
    except DatabaseError as error:
        url = current_configuration().database.url
        where = f"PLUGIT_DATABASE_URL={hide_password(url)}" if url else "the SQLite database"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigurationError(f"cannot connect to {where}: {reason}") from None


def prepare(config: Configuration | None = None) -> bool:
    """Set Django up, run the system checks and migrate the database; False if a check failed."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    configure(config)
    ensure_database_reachable()
    quiet = current_configuration().server.log_level != "debug"
    try:  # "System check identified no issues" goes to stdout; warnings to stderr, kept
        call_command("check", fail_level="ERROR", stdout=io.StringIO() if quiet else None)
    except SystemCheckError as error:
        print(error, file=sys.stderr)
        return False
    migrate_database()  # one process of this data folder at a time
    return True

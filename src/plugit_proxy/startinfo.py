"""What `plugit proxy` and `plugit platform serve` say as they start: where their data lives.

    PlugIt proxy: http://127.0.0.1:8000/plugIt/ -> http://127.0.0.1:5000
      data folder: /home/me/project/.plugit
      database: SQLite, /home/me/project/.plugit/db.sqlite3
      cache and sessions: files in the data folder

No password leaves a URL shown here (`postgresql://plugit:***@db/plugit`). On the platform, a
secret key left to the data folder is worth one warning: API-key hashes and sessions depend
on it, and every process and machine of the platform must share it.
"""

from __future__ import annotations

import sys

from .conf import PLATFORM, Configuration
from .envvalues import hide_password

__all__ = ["announce", "secret_key_warning", "storage_lines"]

KEY_FILE = "secret_key"  # plugit_proxy.setup writes it


def storage_lines(config: Configuration) -> list[str]:
    """Where this process keeps its data: folder, database, cache and sessions."""
    folder = config.server.data_dir
    database = config.database.url
    redis = config.cache.redis_url
    return [
        f"data folder: {folder}",
        f"database: {hide_password(database)}"
        if database
        else f"database: SQLite, {folder / 'db.sqlite3'}",
        f"cache and sessions: Redis, {hide_password(redis)}"
        if redis
        else "cache and sessions: files in the data folder",
    ]


def secret_key_warning(config: Configuration) -> str | None:
    """The platform's one-line warning when PLUGIT_SECRET_KEY is not set, else None."""
    if config.server.mode != PLATFORM or config.security.secret_key:
        return None
    key_file = config.server.data_dir / KEY_FILE
    return (
        f"plugit: warning: PLUGIT_SECRET_KEY is not set: the key generated in {key_file} "
        "signs sessions and API-key hashes; every process and machine of this platform must "
        "use the same one (set PLUGIT_SECRET_KEY to it everywhere), or users are signed out "
        "and API keys stop working"
    )


def announce(banner: str, config: Configuration) -> None:
    """Print `banner`, where the data lives, and the platform's secret key warning."""
    print(banner, flush=True)
    for line in storage_lines(config):
        print(f"  {line}", flush=True)
    warning = secret_key_warning(config)
    if warning:
        print(warning, file=sys.stderr, flush=True)

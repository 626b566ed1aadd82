"""`plugit platform serve`: run the hosted platform.

The same ASGI application as the standalone proxy, built in platform mode: projects and
accounts from the database, the same page pipeline. Settings come from `PLUGIT_*` variables
(`PLUGIT_DATABASE_URL`, `PLUGIT_REDIS_URL`, `PLUGIT_SECRET_KEY`, ...), which the worker
processes inherit.
"""

from __future__ import annotations

import os

__all__ = ["serve"]

PLATFORM_MODE = "platform"


def serve(*, host: str, port: int, workers: int | None) -> int:
    """Migrate the database, then serve the platform; return the process exit code."""
    os.environ["PLUGIT_MODE"] = PLATFORM_MODE
    from ..firststart import prepare
    from ..serving import serve_application

    if not prepare():  # system checks, then the schema brought up to date
        return 2
    print(f"PlugIt platform: http://{host}:{port}/", flush=True)
    serve_application(host=host, port=port, workers=workers, access_log=True)
    return 0

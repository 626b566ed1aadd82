"""`plugit platform serve`: run the hosted platform.

The same ASGI application as the standalone proxy, built in platform mode: projects and
accounts from the database, the same page pipeline. Settings come from `PLUGIT_*` variables
(`PLUGIT_DATABASE_URL`, `PLUGIT_REDIS_URL`, `PLUGIT_SECRET_KEY`, ...) and the command line's
flags, met in one configuration (plugit_proxy.conf).
"""

from __future__ import annotations

from typing import Any

from ..conf import PLATFORM, Configuration, load_configuration

__all__ = ["PLATFORM_MODE", "platform_configuration", "serve"]

PLATFORM_MODE = PLATFORM


def platform_configuration(**flags: Any) -> Configuration:
    """The platform's configuration: `flags` (by variable name), the environment, defaults."""
    return load_configuration({**flags, "PLUGIT_MODE": PLATFORM_MODE})  # access log: on


def serve(*, host: str | None, port: int | None, workers: int | None) -> int:
    """Migrate the database, then serve the platform; return the process exit code."""
    from plugit.cli.ports import ensure_port_free

    from ..firststart import prepare
    from ..serving import serve_application
    from ..startinfo import announce

    config = platform_configuration(PLUGIT_HOST=host, PLUGIT_PORT=port, PLUGIT_WORKERS=workers)
    server = config.server
    ensure_port_free(server.host, server.port)  # before anything is printed or migrated
    if not prepare(config):  # system checks, then the schema brought up to date
        return 2
    announce(f"PlugIt platform: http://{server.host}:{server.port}/", config)
    serve_application(config)
    return 0

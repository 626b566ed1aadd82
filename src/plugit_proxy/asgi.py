"""The ASGI entry of the proxy: the application, built from settings on first access.

    uvicorn plugit_proxy.asgi:application          (configured by PLUGIT_* variables)

The configuration is the one the command line installed, else the one built from the
environment (with the parent's flags, `PLUGIT_FLAGS`, in uvicorn's workers): plugit_proxy.conf.
`PLUGIT_MODE=platform` builds the hosted platform, else the standalone proxy; the application
itself (routing, lifespan) is plugit_proxy.application.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache

from .application import ProxyApplication
from .config import ProxyConfig
from .fromsettings import config_from_settings, platform_config_from_settings
from .identity import IdentityProvider
from .setup import configure

__all__ = ["build_application", "build_platform"]


def build_application(
    config: ProxyConfig | None = None,
    *,
    cache: BaseCache | None = None,
    identities: IdentityProvider | None = None,
) -> ProxyApplication:
    """Build the proxy (from Django settings unless `config` is given).

    `PLUGIT_MODE=platform` (what `plugit platform serve` sets) builds the hosted platform:
    projects and accounts from the database, the same page pipeline.
    """
    configure()  # the installed configuration, else the environment's
    from django.conf import settings
    from django.core.cache import caches

    if config is None and settings.PLUGIT_MODE == "platform":
        return build_platform(cache=cache or caches["default"])

    from .standalone import StandaloneIdentities

    return ProxyApplication(
        config=config or config_from_settings(),
        cache=cache or caches["default"],
        identities=identities or StandaloneIdentities(),
    )


def build_platform(*, cache: BaseCache) -> ProxyApplication:
    """Build the hosted platform: database projects, real accounts, the same pipeline."""
    from django.conf import settings

    from .platform.identities import PlatformIdentities
    from .platform.origins import project_origins
    from .platform.projects import PlatformProjects

    origins = project_origins()
    identities = PlatformIdentities(cache, lifetime=settings.PLUGIT_ACCOUNT_CACHE_SECONDS)
    projects = PlatformProjects(
        refresh=settings.PLUGIT_PROJECTS_REFRESH,
        on_accounts_change=identities.forget_all,
        own_origins=origins is not None,
    )
    return ProxyApplication(
        config=platform_config_from_settings(),
        cache=cache,
        identities=identities,
        projects=projects,
        origins=origins,
    )


def __getattr__(name: str) -> Any:
    # `plugit_proxy.asgi:application` is built on first access, not at import.
    if name == "application":
        app = build_application()
        globals()["application"] = app
        return app
    raise AttributeError(name)

"""The ASGI entry of the proxy.

Page paths (`<mount>...` except `<mount>ebuio_api/`) go to the lean page pipeline; static
files to WhiteNoise; everything else (the services' API, the root redirect, later the admin)
to Django's own handler. The application owns the per-process objects: it opens the upstream
pool on ASGI lifespan start-up, in the running loop, and closes it on shutdown.

    uvicorn plugit_proxy.asgi:application          (configured by PLUGIT_* variables)
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.core.cache.backends.base import BaseCache
from starlette.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from plugit.exceptions import ConfigurationError

from .config import STANDALONE_MOUNT, Project, ProxyConfig, UpstreamConfig
from .identity import IdentityProvider

__all__ = ["API_PREFIX", "ProxyApplication", "build_application", "config_from_settings"]

logger = logging.getLogger("plugit_proxy")

API_PREFIX = "/ebuio_api/"
SCOPE_RUNTIME = "plugit.runtime"
SCOPE_PROJECT = "plugit.project"


class ProxyApplication:
    """Route page paths to the pipeline and the rest to Django; run the lifespan."""

    def __init__(
        self, *, config: ProxyConfig, cache: BaseCache, identities: IdentityProvider
    ) -> None:
        from django.core.asgi import get_asgi_application

        from .csrf import CsrfConfig
        from .pipeline import PageHandler, Runtime
        from .pipeline.project import ProjectRegistry
        from .rendering import Renderer
        from .sessions import SessionManager
        from .staticfiles import StaticFiles
        from .upstream import Upstream

        self.runtime = Runtime(
            config=config,
            upstream=Upstream(config.upstream),
            cache=cache,
            renderer=Renderer(),
            sessions=SessionManager.from_settings(),
            csrf=CsrfConfig.from_settings(),
            identities=identities,
        )
        self.registry = ProjectRegistry(config.projects)
        self.pages = PageHandler(self.runtime)
        self.django: Any = get_asgi_application()
        self.static = StaticFiles()
        self.started = False

    async def startup(self) -> None:
        """Open the upstream pool in the running loop; load the layout templates."""
        await self.runtime.upstream.start()
        self.runtime.renderer.warm_up()
        self.started = True

    async def shutdown(self) -> None:
        """Close the upstream pool and the cache's async connections."""
        await self.runtime.upstream.aclose()
        await self.runtime.cache.aclose()
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # WebSockets come with a later issue
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.started:  # a server without lifespan support
            await self.startup()
        path: str = scope["path"]
        resolved = self.registry.resolve(path)
        if resolved is not None:
            project, route = resolved
            if not route.startswith(API_PREFIX):
                await self.pages(scope, receive, send, project, route)
                return
            scope = {**scope, SCOPE_PROJECT: project}
        elif (project_ := self.registry.mount_without_slash(path)) is not None:
            await RedirectResponse(project_.mount, status_code=302)(scope, receive, send)
            return
        elif (static_file := self.static.find(path)) is not None:
            await self.static.serve(static_file, scope, receive, send)
            return
        await self.django({**scope, SCOPE_RUNTIME: self.runtime}, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def config_from_settings() -> ProxyConfig:
    """Read the standalone proxy's configuration from Django settings."""
    from django.conf import settings

    service = settings.PLUGIT_SERVICE_URL
    if not service:
        raise ConfigurationError(
            "No service to serve: set PLUGIT_SERVICE_URL or run "
            "`plugit proxy --service http://127.0.0.1:5000`."
        )
    menu = settings.PLUGIT_MENU_ACTION.strip() or None
    project = Project(
        key="standalone",
        name=settings.PLUGIT_PLATFORM_NAME,
        mount=STANDALONE_MOUNT,
        service_urls=(service,),
        orga_mode=settings.PLUGIT_ORGA_MODE,
        proxy_mode=settings.PLUGIT_PROXY_MODE,
        menu_action=menu,
        user_fields=tuple(settings.PLUGIT_USER_FIELDS),
        honor_x_forwarded_for=settings.PLUGIT_HONOR_X_FORWARDED_FOR,
    )
    upstream = UpstreamConfig(
        connect_timeout=_number(
            "PLUGIT_UPSTREAM_CONNECT_TIMEOUT", settings.PLUGIT_UPSTREAM_CONNECT_TIMEOUT
        ),
        timeout=_number("PLUGIT_UPSTREAM_TIMEOUT", settings.PLUGIT_UPSTREAM_TIMEOUT),
        max_body=int(_number("PLUGIT_UPSTREAM_MAX_BODY", settings.PLUGIT_UPSTREAM_MAX_BODY)),
    )
    return ProxyConfig(
        platform_name=settings.PLUGIT_PLATFORM_NAME,
        static_url=settings.STATIC_URL,
        standalone=True,
        upstream=upstream,
        projects=(project,),
    )


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{name} must be a number of seconds/bytes, not {value!r}."
        ) from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value!r}.")
    return number


def build_application(
    config: ProxyConfig | None = None,
    *,
    cache: BaseCache | None = None,
    identities: IdentityProvider | None = None,
) -> ProxyApplication:
    """Build the proxy (from Django settings unless `config` is given)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
    import django

    django.setup(set_prefix=False)
    from django.core.cache import caches

    from .standalone import StandaloneIdentities

    return ProxyApplication(
        config=config or config_from_settings(),
        cache=cache or caches["default"],
        identities=identities or StandaloneIdentities(),
    )


def __getattr__(name: str) -> Any:
    # `plugit_proxy.asgi:application` is built on first access, not at import.
    if name == "application":
        app = build_application()
        globals()["application"] = app
        return app
    raise AttributeError(name)

"""The ASGI entry of the proxy.

Page paths (`<mount>...` except `<mount>ebuio_api/`) go to the lean page pipeline; static
files to WhiteNoise; everything else (the services' API, the root redirect, later the admin)
to Django's own handler. A platform with PLUGIT_PROJECTS_DOMAIN serves each project on an
origin of its own, found by the Host header (plugit_proxy.platform.origins): there only the
project's pages, its hand-off and static files are served, never Django.

The application owns the per-process objects: it opens the upstream pool on ASGI lifespan
start-up, in the running loop, and closes it on shutdown.

    uvicorn plugit_proxy.asgi:application          (configured by PLUGIT_* variables)
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.core.cache.backends.base import BaseCache
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send

from plugit.exceptions import ConfigurationError

from .api.auth import KeyGuesses, authorised, refuse, split_key
from .config import STANDALONE_MOUNT, Project, ProxyConfig, UpstreamConfig
from .identity import IdentityProvider
from .platform.origins import host_and_port

if TYPE_CHECKING:
    from .pipeline.project import ProjectRegistry
    from .platform.origins import ProjectOrigins
    from .platform.projects import PlatformProjects

__all__ = [
    "API_PREFIX",
    "ProxyApplication",
    "build_application",
    "build_platform",
    "config_from_settings",
    "platform_config_from_settings",
]

logger = logging.getLogger("plugit_proxy")

API_PREFIX = "/ebuio_api/"
SCOPE_RUNTIME = "plugit.runtime"
SCOPE_PROJECT = "plugit.project"


class ProxyApplication:
    """Route page paths to the pipeline and the rest to Django; run the lifespan."""

    def __init__(
        self,
        *,
        config: ProxyConfig,
        cache: BaseCache,
        identities: IdentityProvider,
        projects: PlatformProjects | None = None,
        origins: ProjectOrigins | None = None,
    ) -> None:
        from django.core.asgi import get_asgi_application

        from .csrf import CsrfConfig
        from .pipeline import PageHandler, Runtime
        from .pipeline.handler import tls_proxy_header
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
        # The platform's projects come from the database and change while it runs.
        self.platform = projects
        self.origins = origins if projects is not None else None  # an origin per project
        self.registry: ProjectRegistry | PlatformProjects = projects or ProjectRegistry(
            config.projects
        )
        self.pages = PageHandler(self.runtime)
        self.key_guesses = KeyGuesses.from_settings(cache)
        self.django: Any = get_asgi_application()
        self.static = StaticFiles()
        from django.conf import settings

        self.https_redirect = bool(settings.SECURE_SSL_REDIRECT)  # opt-in: PLUGIT_HTTPS_REDIRECT
        self.tls_proxy = tls_proxy_header()  # opt-in: PLUGIT_BEHIND_TLS_PROXY
        self.hsts = hsts_header()  # opt-in: PLUGIT_HSTS_SECONDS
        self.mail_sender: Any = None  # a mail.worker.BackgroundSender once started
        self.started = False
        from .bodylimit import BodyLimit

        self.guarded_http = BodyLimit.from_settings(self._http)  # 413, 408 before anything reads

    async def startup(self) -> None:
        """Open the upstream pool in the running loop; load the layout templates."""
        await self.runtime.upstream.start()
        self.runtime.renderer.warm_up()
        if self.platform is not None:
            await self.platform.start()
        if self.mail_sender is None:  # the outbox, sent from this process (docs/mail.md)
            from .mail.worker import start_background_sender

            self.mail_sender = start_background_sender()
        freeze_heap()
        self.started = True

    async def shutdown(self) -> None:
        """Close the upstream pool and the cache's async connections."""
        if self.platform is not None:
            await self.platform.stop()
        await self.runtime.upstream.aclose()
        await self.runtime.cache.aclose()
        if self.mail_sender is not None:
            await self.mail_sender.stop()
            self.mail_sender = None
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self.guarded_http(scope, receive, send)
        else:  # WebSockets come with a later issue
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.started:  # a server without lifespan support
            await self.startup()
        path: str = scope["path"]
        own_send = send  # what Django does not answer (it adds its own security headers)
        if self.https_redirect or self.hsts is not None:
            from .pipeline.handler import scheme_of

            secure = scheme_of(Request(scope), self.tls_proxy) == "https"
            if self.https_redirect and not secure:
                url = Request(scope).url.replace(scheme="https")
                await RedirectResponse(str(url), status_code=301)(scope, receive, send)
                return
            if secure and self.hsts is not None:
                own_send = with_header(send, b"strict-transport-security", self.hsts)
        if self.origins is not None:
            host, port = host_and_port(header(scope, b"host"))
            if self.origins.is_project_host(host):
                await self._project_origin(scope, receive, own_send, host, port)
                return
        resolved = self.registry.resolve(path)
        if resolved is not None:
            project, route = resolved
            if not route.startswith(API_PREFIX):
                if self.platform is not None and (moved := self._moved(scope, project, route)):
                    await moved(scope, receive, own_send)
                    return
                await self.pages(scope, receive, own_send, project, route)
                return
            api_scope = await self._api_scope(scope, project, route, send)
            if api_scope is None:  # refused: a wrong key, or too many of them
                return
            scope = api_scope
        elif (project_ := self.registry.mount_without_slash(path)) is not None:
            target = project_.mount if self.origins is None else self._origin(scope, project_) + "/"
            await RedirectResponse(target, status_code=302)(scope, receive, own_send)
            return
        elif (static_file := self.static.find(path)) is not None:
            await self.static.serve(static_file, scope, receive, own_send)
            return
        await self.django({**scope, SCOPE_RUNTIME: self.runtime}, receive, send)

    async def _api_scope(
        self, scope: Scope, project: Project, route: str, send: Send
    ) -> Scope | None:
        """Check the project's API key; give the scope Django serves the call with, or refuse."""
        if project.api_key_hash is None:  # the standalone proxy's API needs no key
            return {**scope, SCOPE_PROJECT: project}
        if await self.key_guesses.blocked(scope):  # not even checked: guessing stays blind
            await refuse(send, retry_after=self.key_guesses.window)
            return None
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        key, call = split_key(route[len(API_PREFIX) :], authorization)
        if not authorised(project, key):
            await self.key_guesses.failed(scope)
            await refuse(send)
            return None
        mount = scope["path"][: len(scope["path"]) - len(route)]  # as the service called it
        path = mount + API_PREFIX + call  # the key leaves the path
        return {**scope, "path": path, "raw_path": path.encode(), SCOPE_PROJECT: project}

    async def _project_origin(
        self, scope: Scope, receive: Receive, send: Send, host: str, port: str
    ) -> None:
        """Serve a request to a project's own origin: its pages, its hand-off, static files."""
        from .platform.handoff import accept_handoff
        from .platform.origins import HANDOFF_ROUTE

        assert self.origins is not None
        assert self.platform is not None
        slug = self.origins.slug_of(host)
        project = None if slug is None else self.platform.get(slug)
        path: str = scope["path"]
        response: Response
        if project is None:  # only configured names are served: never an open proxy
            response = PlainTextResponse("No such project.", status_code=404)
        elif (static_file := self.static.find(path)) is not None:
            await self.static.serve(static_file, scope, receive, send)
            return
        elif path == HANDOFF_ROUTE:
            response = await accept_handoff(self.runtime, Request(scope), project.key)
        elif (link := self._platform_link(scope, project, path)) is not None:
            response = link
        elif path.startswith(API_PREFIX):  # the API is the platform origin's (`/p/<slug>/`)
            response = PlainTextResponse("Not found.", status_code=404)
        else:
            await self.pages(scope, receive, send, project, path)
            return
        await response(scope, receive, send)

    def _moved(self, scope: Scope, project: Project, route: str) -> Response | None:
        """Answer what `/p/<slug>/<route>` no longer serves on the platform origin."""
        if self.origins is None:
            return self._platform_link(scope, project, route)
        query = scope.get("query_string", b"").decode("latin-1")
        target = self._origin(scope, project) + route + (f"?{query}" if query else "")
        return RedirectResponse(target, status_code=302)

    def _platform_link(self, scope: Scope, project: Project, route: str) -> Response | None:
        """Send the layout's sign-in, sign-out and home links to the platform's pages."""
        from django.conf import settings
        from django.urls import reverse

        from .platform.handoff import local_path
        from .platform.origins import HOME_ROUTE, LOGIN_ROUTE, LOGOUT_ROUTE

        if route not in (LOGIN_ROUTE, LOGOUT_ROUTE, HOME_ROUTE):
            return None
        platform = ""
        if self.origins is not None:
            platform = self.origins.platform_origin(*self._scheme_and_port(scope))
        if route == LOGOUT_ROUTE:
            return RedirectResponse(platform + reverse("account_logout"), status_code=302)
        if route == HOME_ROUTE:
            return RedirectResponse(platform + "/", status_code=302)
        back = local_path(Request(scope).query_params.get("next", "/"))
        if self.origins is None:  # one origin: the platform's own sign-in page
            query = urlencode({"next": back})
            return RedirectResponse(f"{settings.LOGIN_URL}?{query}", status_code=302)
        from .platform.handoff import start_login

        return start_login(Request(scope), project.key, platform)  # binds the hand-off

    def _origin(self, scope: Scope, project: Project) -> str:
        """Give a project's own origin, with the scheme and port of this request."""
        assert self.origins is not None
        return self.origins.project_origin(project.key, *self._scheme_and_port(scope))

    def _scheme_and_port(self, scope: Scope) -> tuple[str, str]:
        from .pipeline.handler import scheme_of

        return scheme_of(Request(scope), self.tls_proxy), host_and_port(header(scope, b"host"))[1]

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


def hsts_header() -> bytes | None:
    """The Strict-Transport-Security value Django's SecurityMiddleware sends, or None."""
    from django.conf import settings

    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value.encode("latin-1")


def header(scope: Scope, name: bytes) -> str:
    """Read one request header (the first of its name), "" when absent."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def with_header(send: Send, name: bytes, value: bytes) -> Send:
    """Wrap `send` to add a header to the response it starts."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (name, value)]}
        await send(message)

    return sending


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
        layout=settings.PLUGIT_LAYOUT,
        user_fields=tuple(settings.PLUGIT_USER_FIELDS),
        honor_x_forwarded_for=settings.PLUGIT_HONOR_X_FORWARDED_FOR,
        trusted_proxies=_count("PLUGIT_TRUSTED_PROXIES", settings.PLUGIT_TRUSTED_PROXIES),
    )
    return ProxyConfig(
        platform_name=settings.PLUGIT_PLATFORM_NAME,
        static_url=settings.STATIC_URL,
        standalone=True,
        upstream=upstream_from_settings(),
        projects=(project,),
    )


def platform_config_from_settings() -> ProxyConfig:
    """Read the hosted platform's configuration (its projects come from the database)."""
    from django.conf import settings

    return ProxyConfig(
        platform_name=settings.PLUGIT_PLATFORM_NAME,
        static_url=settings.STATIC_URL,
        standalone=False,
        upstream=upstream_from_settings(),
        projects=(),
    )


def upstream_from_settings() -> UpstreamConfig:
    """Read the deadlines and limits of service calls."""
    from django.conf import settings

    return UpstreamConfig(
        connect_timeout=_number(
            "PLUGIT_UPSTREAM_CONNECT_TIMEOUT", settings.PLUGIT_UPSTREAM_CONNECT_TIMEOUT
        ),
        timeout=_number("PLUGIT_UPSTREAM_TIMEOUT", settings.PLUGIT_UPSTREAM_TIMEOUT),
        max_body=int(_number("PLUGIT_UPSTREAM_MAX_BODY", settings.PLUGIT_UPSTREAM_MAX_BODY)),
        breaker_failures=_count(
            "PLUGIT_UPSTREAM_BREAKER_FAILURES", settings.PLUGIT_UPSTREAM_BREAKER_FAILURES
        ),
        breaker_cooldown=_number(
            "PLUGIT_UPSTREAM_BREAKER_COOLDOWN", settings.PLUGIT_UPSTREAM_BREAKER_COOLDOWN
        ),
        instance_connections=_count(
            "PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS", settings.PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS
        ),
        instance_queue_timeout=_number(
            "PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT",
            settings.PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT,
        ),
    )


def _count(name: str, value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}.") from None
    if count < 0:
        raise ConfigurationError(f"{name} must be 0 (off) or more, not {value!r}.")
    return count


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
    """Build the proxy (from Django settings unless `config` is given).

    `PLUGIT_MODE=platform` (what `plugit platform serve` sets) builds the hosted platform:
    projects and accounts from the database, the same page pipeline.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
    import django

    django.setup(set_prefix=False)
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


@functools.cache  # once per process
def freeze_heap() -> None:
    """Keep what start-up made (Django, templates, modules) out of the garbage collector's way.

    A full collection walks every tracked object: some 90,000 once Django is loaded, about
    40 ms on a small machine, during which no page moves. Requests that wait long (a hung
    service) get promoted to the oldest generation and make full collections frequent: every
    page's p99 then pays for them. Frozen objects are never walked again (nor freed, which
    start-up objects never are anyway).
    """
    gc.collect()
    gc.freeze()

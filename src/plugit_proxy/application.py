"""The proxy's ASGI application: routing each request, and the lifespan of what it owns.

Page paths (`<mount>...` except `<mount>ebuio_api/`) go to the lean page pipeline; static
files to WhiteNoise; everything else (the services' API, the root redirect, the admin) to
Django's own handler. A platform with PLUGIT_PROJECTS_DOMAIN serves each project on an
origin of its own, found by the Host header (plugit_proxy.platform.origins): there only the
project's pages, its hand-off and static files are served, never Django.

The application owns the per-process objects: it opens the upstream pool on ASGI lifespan
start-up, in the running loop, and closes it on shutdown. It is built by plugit_proxy.asgi.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.core.cache.backends.base import BaseCache
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .api.auth import KeyGuesses, authorised, refuse, split_key
from .config import Project, ProxyConfig
from .heap import freeze_heap
from .https import HttpsPolicy
from .identity import IdentityProvider
from .platform.origins import host_and_port
from .requestlog import note_page

if TYPE_CHECKING:
    from .pipeline.project import ProjectRegistry
    from .platform.origins import ProjectOrigins
    from .platform.projects import PlatformProjects

__all__ = ["API_PREFIX", "SCOPE_PROJECT", "SCOPE_RUNTIME", "ProxyApplication", "header"]

logger = logging.getLogger("plugit_proxy")

API_PREFIX = "/ebuio_api/"
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # before any project or Django
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
        from .pipeline.project import ProjectRegistry
        from .pipeline.websocket import SocketHandler
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
        self.sockets = SocketHandler(self.pages)
        self.key_guesses = KeyGuesses.from_settings(cache)
        self.django: Any = get_asgi_application()
        self.static = StaticFiles()
        self.https = HttpsPolicy.from_settings()  # each part opt-in (https.py)
        self.mail_sender: Any = None  # a mail.worker.BackgroundSender once started
        self.prober: Any = None  # a prober.Prober once started (the instances' health)
        self.started = False
        from .bodylimit import BodyLimit

        self.guarded_http: ASGIApp = BodyLimit.from_settings(self._http)  # 413, 408 first
        self._observe(cache)

    def _observe(self, cache: BaseCache) -> None:
        """Health probes, metrics, request ids and the access log (docs/operating-a-platform.md)."""
        from .conf import current_configuration
        from .metricsview import MetricsView
        from .readiness import Readiness
        from .requestlog import RequestLog

        server = current_configuration().server
        self.readiness = Readiness(cache)
        self.metrics = MetricsView(token=server.metrics_token, networks=server.metrics_networks)
        self.guarded_http = RequestLog(
            self.guarded_http, trust_ids=server.trust_request_id, access_log=server.access_log
        )

    async def startup(self) -> None:
        """Open the upstream pool in the running loop; load the layout templates."""
        await self.runtime.upstream.start()
        self._start_prober()
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
        await self.pages.shadows.stop()  # the shadow copies' last counts
        if self.prober is not None:
            await self.prober.stop()
            self.prober = None
        await self.runtime.upstream.aclose()
        await self.sockets.aclose()
        await self.runtime.cache.aclose()
        self.readiness.close()
        if self.mail_sender is not None:
            await self.mail_sender.stop()
            self.mail_sender = None
        self.started = False

    def _start_prober(self) -> None:
        """Probe every configured instance on an interval; share verdicts via the cache."""
        from .healthshare import HealthShare
        from .prober import Prober

        upstream = self.runtime.upstream
        for project in self.runtime.config.projects:  # the platform's: known on first call
            upstream.pick(project)
        config = upstream.config
        self.prober = Prober(
            upstream.health,
            upstream.session,
            HealthShare(self.runtime.cache),
            interval=config.health_interval,
            timeout=config.probe_timeout,
            probing=config.health_probes,
        )
        self.prober.start()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self.guarded_http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Relay a socket under a project's mount (or on its origin); refuse any other."""
        if not self.started:
            await self.startup()
        resolved = self._socket_project(scope)
        if resolved is None or resolved[1].startswith(API_PREFIX):
            await send({"type": "websocket.close", "code": 1008})  # an HTTP 403
            return
        await self.sockets(scope, receive, send, *resolved)

    def _socket_project(self, scope: Scope) -> tuple[Project, str] | None:
        """The project and route of a socket's path (on a project's origin: its own)."""
        path: str = scope["path"]
        if self.origins is None or self.platform is None:
            return self.registry.resolve(path)
        host, _ = host_and_port(header(scope, b"host"))
        if not self.origins.is_project_host(host):
            return None  # with origins, projects are served on theirs only
        slug = self.origins.slug_of(host)
        project = None if slug is None else self.platform.get(slug)
        return None if project is None else (project, path)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.started:  # a server without lifespan support
            await self.startup()
        path: str = scope["path"]
        if path in OPS_PATHS and await self._ops(scope, receive, send, path):
            return
        own_send = send  # what Django does not answer (it adds its own security headers)
        if self.https.active:
            secured = await self.https.apply(scope, receive, send)
            if secured is None:  # redirected to HTTPS
                return
            own_send = secured
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
            note_page(project.key, API_PREFIX)  # its metrics and log lines: the project's
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

    async def _ops(self, scope: Scope, receive: Receive, send: Send, path: str) -> bool:
        """Answer the probes (on any host) and `/metrics` (not on a project's origin)."""
        if path == "/healthz":
            from .readiness import alive

            await alive(scope, receive, send)
        elif path == "/readyz":
            await self.readiness(scope, receive, send)
        elif self.origins is not None and self.origins.is_project_host(
            host_and_port(header(scope, b"host"))[0]
        ):
            return False  # a project's own `/metrics` page
        else:
            await self.metrics(scope, receive, send)
        return True

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
            from .pipeline.errors import unknown_project

            home = self.origins.platform_origin(*self._scheme_and_port(scope)) + "/"
            response = unknown_project(self.runtime, home)
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
        return self.https.scheme(scope), host_and_port(header(scope, b"host"))[1]

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


def header(scope: Scope, name: bytes) -> str:
    """Read one request header (the first of its name), "" when absent."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return ""

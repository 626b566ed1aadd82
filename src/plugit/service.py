"""`Service`: a PlugIt service's actions, templates, media and settings, as an ASGI app."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from plugit.actions import ActionSpec, declare_action, declared_in
from plugit.endpoints import Endpoints, MailCallback, MediaFiles
from plugit.exceptions import Abort, ConfigurationError
from plugit.guard import (
    HOW_TO_SERVE,
    RefusalLog,
    address_allowed,
    caller_address,
    carries_forwarding,
    client_rewriter,
    refusal_response,
    route_path,
)
from plugit.interceptors import Handler, Interceptor, chain
from plugit.protocol import (
    PATH_ACTION,
    PATH_DEV_ROUTES,
    PATH_MAIL,
    PATH_MEDIA,
    PATH_META,
    PATH_PING,
    PATH_TEMPLATE,
    PATH_VERSION,
)
from plugit.registry import ActionRegistry
from plugit.requestid import done_serving, serving_request
from plugit.routing import compile_route
from plugit.settings import Settings, config_file
from plugit.sockets import SocketSpec, socket_meta, socket_request, wants_request
from plugit.templates import TemplateStore
from plugit.welcome import is_root, welcome_response

__all__ = ["WIRE_CASE_HTTP", "Service"]


F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("plugit.service")

# The calls only a proxy inside PI_ALLOWED_NETWORKS may make (version and media are open).
GUARDED_PATHS = (PATH_PING, PATH_MAIL, PATH_META, PATH_TEMPLATE, PATH_ACTION, PATH_DEV_ROUTES)


# uvicorn's httptools writer sends header names in lower case, so a session key set with
# SetSession ("UserId") would reach the proxy as "userid"; h11 writes names as given.
WIRE_CASE_HTTP = "h11"


class Service:
    """A PlugIt service: register actions on it, then serve it as an ASGI application.

    Without `settings`, they come from `config.py` in `root` (the working directory by
    default), overridden by `PLUGIT_*` environment variables.
    """

    def __init__(
        self,
        name: str = "plugit-service",
        *,
        root: str | Path | None = None,
        settings: Settings | None = None,
        templates: str = "templates",
        media: str = "media",
        mail_callback: MailCallback | None = None,
    ) -> None:
        self.name = name
        self.root = Path(root if root is not None else Path.cwd()).resolve()
        if settings is None:  # config.py beside the service, then PLUGIT_* variables
            settings = Settings.load(config_file(self.root))
        self.settings = settings
        self.templates = TemplateStore(self.root / templates, reload=self.settings.debug)
        self.media_directory = self.root / media
        self.mail_callback = mail_callback
        self.registry = ActionRegistry()
        self._interceptors: list[Interceptor] = []
        self._websockets: list[SocketSpec] = []
        self._handler: Handler | None = None
        self._on_startup: list[Callable[[], Any]] = []
        self._on_shutdown: list[Callable[[], Any]] = []
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    # -- declaring --------------------------------------------------------------------------
    def action(
        self, route: str, *, template: str = "", methods: Sequence[str] = ("GET",)
    ) -> Callable[[F], F]:
        """Declare the decorated function as this service's action for `route`."""

        def decorate(func: F) -> F:
            self.registry.add(declare_action(func, route, template, methods))
            return func

        return decorate

    def add_actions(self, specs: Sequence[ActionSpec]) -> None:
        """Adopt actions declared with the module-level `@action` decorator."""
        for spec in specs:
            self.registry.add(spec)

    def add_module(self, module: Any) -> int:
        """Adopt every action declared in (or exported by) `module`; return how many."""
        specs = declared_in(module.__name__, vars(module).values())
        self.add_actions(specs)
        return len(specs)

    def interceptor(self, func: Interceptor) -> Interceptor:
        """Run `func(call, call_next)` around every action (first added is outermost)."""
        self._check_not_serving("add an interceptor")
        if not inspect.iscoroutinefunction(func):
            raise ConfigurationError(f"interceptor {func!r} must be an async function")
        self._interceptors.append(func)
        return func

    def websocket(self, route: str) -> Callable[[F], F]:
        """Serve `async def handler(websocket, **route_vars)` at `action<route>` over WebSocket.

        The access decorators (`@only_member_user()`, `@user_info(...)`, ...) apply to it as to
        an action: the proxy reads them from the meta of `route`. Who is connected is the
        `plugit.Request` an action would get (`request.args["ebuio_u_username"]`, ...): a
        parameter named `request`, and `websocket.state.request`.
        """
        compiled = compile_route(route)

        def decorate(func: F) -> F:
            self._check_not_serving(f"add the WebSocket {route!r}")
            if not inspect.iscoroutinefunction(func):
                raise ConfigurationError(f"WebSocket handler {func.__qualname__} must be async")
            self._websockets.append(SocketSpec(compiled, func, wants_request(func)))
            return func

        return decorate

    def on_startup(self, func: F) -> F:
        """Run `func()` (sync or async) when the server starts, before the first request."""
        self._check_not_serving("add a start-up hook")
        self._on_startup.append(func)
        return func

    def on_shutdown(self, func: F) -> F:
        """Run `func()` (sync or async) when the server stops (last added runs first)."""
        self._check_not_serving("add a shutdown hook")
        self._on_shutdown.append(func)
        return func

    def mail_handler(self, func: F) -> F:
        """Receive users' e-mail replies relayed by the proxy (see docs/protocol.md §6)."""
        self._check_not_serving("set the mail handler")
        self.mail_callback = func
        return func

    # -- serving ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)

    def run(
        self, host: str = "127.0.0.1", port: int | None = None, debug: bool | None = None, **_: Any
    ) -> None:
        """Serve the service with uvicorn until interrupted (extra Flask options are ignored).

        Without `port`, it listens on the settings' port (`PLUGIT_PORT`, default 5000).
        """
        import uvicorn

        debug = self.settings.debug if debug is None else debug
        uvicorn.run(
            self,
            host=host,
            port=self.settings.port if port is None else port,
            log_level="debug" if debug else "info",
            proxy_headers=False,  # the guard checks the socket peer unless PI_USE_PROXY_IP
            http=WIRE_CASE_HTTP,
        )

    def check(self) -> list[str]:
        """Problems worth a warning at start-up: actions whose template file is missing."""
        return [
            f"action {spec.name!r} ({spec.route}) names the template {spec.template!r}, "
            f"which is not a file in {self.templates.directory}"
            for spec in self.registry
            if spec.template and self.templates.resolve(spec.template) is None
        ]

    def _check_not_serving(self, what: str) -> None:
        if self._app is not None:
            raise ConfigurationError(f"cannot {what}: the service is already serving requests")

    def _build(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        self.registry.freeze()
        self._handler = chain(self._interceptors)
        for problem in self.check():
            log.warning("%s", problem)
        endpoints = Endpoints(
            self.settings,
            self.registry,
            self.templates,
            handler=self._handler,
            mail_callback=self.mail_callback,
        )
        app = Starlette(routes=self._routes(endpoints), lifespan=self._lifespan)
        return ServiceApp(app, endpoints, self.settings, name=self.name)

    def _routes(self, endpoints: Endpoints) -> list[BaseRoute]:
        base = self.settings.base_url
        dev: list[BaseRoute] = []
        if self.settings.debug:  # the action list is for development only
            dev.append(Route(base + PATH_DEV_ROUTES, endpoints.routes, methods=["GET"]))
        # HTTP action calls never reach these routes: ServiceApp answers them directly.
        return [
            *dev,
            Route(base + PATH_PING, endpoints.ping, methods=["GET"]),
            Route(base + PATH_VERSION, endpoints.version, methods=["GET"]),
            Route(base + PATH_MAIL, endpoints.mail, methods=["POST"]),
            Route(base + PATH_META + "{route:path}", self._meta(endpoints), methods=["GET"]),
            Route(base + PATH_TEMPLATE + "{route:path}", endpoints.template, methods=["GET"]),
            WebSocketRoute(base + PATH_ACTION + "{route:path}", self._websocket),
            Mount(
                base + PATH_MEDIA.rstrip("/"),
                app=MediaFiles(str(self.media_directory), max_age=self._media_max_age),
            ),
        ]

    @property
    def _media_max_age(self) -> int:
        return 0 if self.settings.debug else self.settings.media_max_age

    def _socket_for(self, path: str) -> tuple[SocketSpec, dict[str, Any]] | None:
        for socket in self._websockets:
            kwargs = socket.route.match(path)
            if kwargs is not None:
                return socket, kwargs
        return None

    def _meta(self, endpoints: Endpoints) -> Callable[[StarletteRequest], Awaitable[Response]]:
        """The meta endpoint: an action's, else a WebSocket's (its access rules, no template)."""

        async def meta(raw: StarletteRequest) -> Response:
            route = raw.path_params["route"]
            found = None if self.registry.resolve(route) else self._socket_for(route)
            if found is None:
                return await endpoints.meta(raw)
            return socket_meta(found[0].handler, self.settings.meta_max_age)

        return meta

    async def _websocket(self, websocket: WebSocket) -> None:
        found = self._socket_for(websocket.path_params["route"])
        if found is None:
            await websocket.close(code=4404)
            return
        socket, kwargs = found
        try:
            request = socket_request(websocket, use_proxy_ip=self.settings.use_proxy_ip)
        except Abort as error:  # a malformed query string
            await websocket.close(code=4400, reason=error.description)
            return
        websocket.state.request = request
        if socket.wants_request and "request" not in kwargs:
            kwargs["request"] = request
        serving = serving_request(request.request_id)  # the socket's log lines carry its id
        try:
            await socket.handler(websocket, **kwargs)
        finally:
            done_serving(serving)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        for hook in self._on_startup:
            await _run_hook(hook)
        log.info(
            "%s: %d actions, serving under %s",
            self.name,
            len(self.registry),
            self.settings.base_url,
        )
        try:
            yield
        finally:
            for hook in reversed(self._on_shutdown):
                await _run_hook(hook)


async def _run_hook(hook: Callable[[], Any]) -> None:
    if inspect.iscoroutinefunction(hook):
        await hook()
    else:
        await run_in_threadpool(hook)


class ServiceApp:
    """The ASGI entry: the network guard, then action calls answered directly (the hot path,
    spared Starlette's routing and middleware), then Starlette for everything else."""

    def __init__(
        self, app: Starlette, endpoints: Endpoints, settings: Settings, *, name: str = ""
    ) -> None:
        self.app = app
        self.endpoints = endpoints
        self.settings = settings
        self.name = name
        self.guarded = tuple(settings.base_url + path for path in GUARDED_PATHS)
        self.action_prefix = settings.base_url + PATH_ACTION
        self.warned = False
        self.refusals = RefusalLog(settings.allowed_networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            rewriter = None if self.settings.use_proxy_ip else client_rewriter(sys._getframe())
            if rewriter is not None:
                await refuse_startup(HOW_TO_SERVE.format(middleware=rewriter), receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # The router strips the server's root path: judge exactly what it will dispatch.
        path = route_path(scope)
        if path.startswith(self.guarded) and (refused := self._refused(scope)) is not None:
            self.refusals.note(refused, path)
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 4404})
            else:
                response = refusal_response(refused, debug=self.settings.debug)
                await response(scope, receive, send)
        elif kind == "http" and path.startswith(self.action_prefix):
            route = path[len(self.action_prefix) :]
            response = await self.endpoints.action(StarletteRequest(scope, receive), route)
            await response(scope, receive, send)
        elif kind == "http" and is_root(path, self.settings.base_url):
            response = welcome_response(StarletteRequest(scope), self.name, self.settings.base_url)
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _refused(self, scope: Scope) -> str | None:
        """The caller's address when the guard refuses it, else None."""
        client = scope.get("client")
        peer = client[0] if client else None
        headers = Headers(scope=scope) if self.settings.use_proxy_ip else None
        if headers is not None and "x-forwarded-for" in headers:
            address = caller_address(peer, headers, use_proxy_ip=True)
        elif carries_forwarding(scope) and (rewriter := client_rewriter(sys._getframe())):
            # The peer may be an address the caller wrote (the server started without a
            # lifespan, so it was not refused at start-up): refuse rather than guess.
            self._warn_rewritten(rewriter)
            return ""  # no address to name: that error line says what to change
        else:
            address = peer or ""
        return None if _cached_allowed(address, self.settings.allowed_networks) else address

    def _warn_rewritten(self, rewriter: str) -> None:
        if not self.warned:
            self.warned = True
            log.error("refusing guarded calls: %s", HOW_TO_SERVE.format(middleware=rewriter))


async def refuse_startup(reason: str, receive: Receive, send: Send) -> None:
    """Answer the server's lifespan start-up with a failure naming `reason`."""
    log.error("cannot start: %s", reason)
    message = await receive()
    if message["type"] == "lifespan.startup":
        await send({"type": "lifespan.startup.failed", "message": f"cannot start: {reason}"})


@functools.lru_cache(maxsize=4096)
def _cached_allowed(address: str, networks: tuple[Any, ...]) -> bool:
    return address_allowed(address, networks)

"""`ServiceClient` and `AsyncServiceClient`: call a service's actions the way a proxy does.

```python
client = ServiceClient(service)                       # in-process
client = ServiceClient.at("http://127.0.0.1:5000/")   # a live service, over a socket
page = client.get("/show/3", user=MEMBER, orga=EBU)
assert page.status_code == 200 and page.data == {"poll": 3}
```

Each call fetches the action's meta, applies its access rules to the simulated user, calls the
action with the parameters and headers a proxy adds, and fetches the template: see `_flow`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypedDict, TypeVar, Unpack

import httpx
from starlette.types import ASGIApp

from plugit.exceptions import PlugItError
from plugit.protocol import DEFAULT_USER_FIELDS
from plugit.simulation import ANONYMOUS, DEFAULT_ORGA, Orga, SimulatedUser
from plugit.testing._flow import Files, Flow, Outgoing, Page, PageRequest, Params, page_flow
from plugit.testing._socket import WebSocketTestSession, open_socket
from plugit.testing._transport import BlockingASGITransport, asgi_transport

HTTP = TypeVar("HTTP", httpx.Client, httpx.AsyncClient)

IN_PROCESS_HOST = "http://testserver"
DEFAULT_TIMEOUT = 10.0


class CallOptions(TypedDict, total=False):
    """What one call may say about the browser's request (defaults: the client's)."""

    user: SimulatedUser
    orga: Orga | None
    orga_mode: bool
    session: Mapping[str, str]
    query: Params
    data: Params
    files: Files
    remote_addr: str
    headers: Mapping[str, str]


class ClientOptions(TypedDict, total=False):
    """The defaults a client gives every call, and the proxy's allow-list of user fields."""

    user: SimulatedUser
    orga: Orga | None
    orga_mode: bool
    remote_addr: str
    user_fields: Sequence[str]
    timeout: float


class _Defaults:
    """The client-wide defaults every call starts from."""

    def __init__(
        self,
        *,
        user: SimulatedUser,
        orga: Orga | None,
        orga_mode: bool,
        remote_addr: str,
        user_fields: Sequence[str],
    ) -> None:
        self.user = user
        self.orga = orga
        self.orga_mode = orga_mode
        self.remote_addr = remote_addr
        self.user_fields = tuple(user_fields)

    def page_request(self, method: str, path: str, options: CallOptions) -> PageRequest:
        """The browser's request: the call's options over the client's defaults."""
        return PageRequest(
            method=method.upper(),
            path=path,
            user=options.get("user", self.user),
            orga=options.get("orga", self.orga),
            orga_mode=options.get("orga_mode", self.orga_mode),
            remote_addr=options.get("remote_addr", self.remote_addr),
            user_fields=self.user_fields,
            query=options.get("query"),
            data=options.get("data"),
            files=options.get("files"),
            session=options.get("session"),
            headers=options.get("headers"),
        )


def _service_prefix(app: ASGIApp) -> str:
    """The service's PI_BASE_URL when the app is a `plugit.Service` (or `plugit.app`), else /."""
    try:
        service = getattr(app, "service", app)
    except PlugItError:  # `plugit.app` before `load_actions`: it will say so when called
        service = app
    settings = getattr(service, "settings", None)
    base_url = getattr(settings, "base_url", "/")
    return base_url if isinstance(base_url, str) else "/"


def _send_kwargs(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "params": outgoing.params,
        "data": outgoing.data,
        "files": outgoing.files,
        "headers": outgoing.headers,
    }


class _ClientBase(Generic[HTTP]):
    """What both clients share: the call defaults and the HTTP client they drive."""

    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        base_url: str | None = None,
        user: SimulatedUser = ANONYMOUS,
        orga: Orga | None = DEFAULT_ORGA,
        orga_mode: bool = True,
        remote_addr: str = "127.0.0.1",
        user_fields: Sequence[str] = DEFAULT_USER_FIELDS,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.defaults = _Defaults(
            user=user,
            orga=orga,
            orga_mode=orga_mode,
            remote_addr=remote_addr,
            user_fields=user_fields,
        )
        self._http: HTTP = self._client(app, base_url, timeout)
        self._app = app

    @classmethod
    def at(cls, url: str, **options: Unpack[ClientOptions]) -> Self:
        """A client of the live service at `url` (its base URL, PI_BASE_URL included)."""
        return cls(base_url=url, **options)

    @property
    def base_url(self) -> str:
        """The service's base URL the calls go to."""
        return str(self._http.base_url)

    @staticmethod
    def _client(app: ASGIApp | None, base_url: str | None, timeout: float) -> HTTP:
        raise NotImplementedError


class ServiceClient(_ClientBase[httpx.Client]):
    """Call a service like a proxy: in-process (an ASGI app) or `ServiceClient.at(url)`.

    `user`, `orga`, `orga_mode` and `remote_addr` are the defaults of every call;
    `user_fields` is the proxy's allow-list of user fields (PIAPI_USERDATA).
    """

    @staticmethod
    def _client(app: ASGIApp | None, base_url: str | None, timeout: float) -> httpx.Client:
        if app is None:
            if base_url is None:
                raise TypeError("ServiceClient needs an ASGI app or a base_url")
            return httpx.Client(base_url=base_url, timeout=timeout)
        return httpx.Client(
            transport=BlockingASGITransport(app),
            base_url=base_url or IN_PROCESS_HOST + _service_prefix(app),
            timeout=timeout,
        )

    def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> Page:
        """Make the browser's request `method path` through the simulated proxy."""
        return self._drive(page_flow(self.defaults.page_request(method, path, options)))

    def get(self, path: str, **options: Unpack[CallOptions]) -> Page:
        """A browser GET."""
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Unpack[CallOptions]) -> Page:
        """A browser POST (the proxy's parameters go in the form)."""
        return self.request("POST", path, **options)

    @contextlib.contextmanager
    def websocket(
        self, path: str, **options: Unpack[CallOptions]
    ) -> Iterator[WebSocketTestSession]:
        """Open the service's WebSocket at `path` as the simulated proxy would (in-process).

        A refusal of the route's access rules raises the close a browser gets:
        `WebSocketDisconnect` with code 4403 (4404 when the route has no meta).
        """
        if self._app is None:
            raise TypeError("websocket() needs an in-process client: ServiceClient(service)")
        request = self.defaults.page_request("GET", path, options)
        prefix = _service_prefix(self._app).rstrip("/")
        with open_socket(self._app, self._http, prefix, request) as websocket:
            yield websocket

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        transport = self._http._transport  # one event loop for the whole `with` block
        if isinstance(transport, BlockingASGITransport):
            transport.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _drive(self, flow: Flow) -> Page:
        outgoing = next(flow)
        while True:
            response = self._http.request(outgoing.method, outgoing.path, **_send_kwargs(outgoing))
            self._http.cookies.clear()  # the proxy keeps no cookie of the service's
            try:
                outgoing = flow.send(response)
            except StopIteration as done:
                page: Page = done.value
                return page


class AsyncServiceClient(_ClientBase[httpx.AsyncClient]):
    """The async twin of `ServiceClient`: same calls, awaitable; `async with` or `aclose()`."""

    @staticmethod
    def _client(app: ASGIApp | None, base_url: str | None, timeout: float) -> httpx.AsyncClient:
        if app is None:
            if base_url is None:
                raise TypeError("AsyncServiceClient needs an ASGI app or a base_url")
            return httpx.AsyncClient(base_url=base_url, timeout=timeout)
        return httpx.AsyncClient(
            transport=asgi_transport(app),
            base_url=base_url or IN_PROCESS_HOST + _service_prefix(app),
            timeout=timeout,
        )

    async def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> Page:
        """Make the browser's request `method path` through the simulated proxy."""
        return await self._drive(page_flow(self.defaults.page_request(method, path, options)))

    async def get(self, path: str, **options: Unpack[CallOptions]) -> Page:
        """A browser GET."""
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Unpack[CallOptions]) -> Page:
        """A browser POST (the proxy's parameters go in the form)."""
        return await self.request("POST", path, **options)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _drive(self, flow: Flow) -> Page:
        outgoing = next(flow)
        while True:
            response = await self._http.request(
                outgoing.method, outgoing.path, **_send_kwargs(outgoing)
            )
            self._http.cookies.clear()
            try:
                outgoing = flow.send(response)
            except StopIteration as done:
                page: Page = done.value
                return page

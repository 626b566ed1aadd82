"""Calls to services: one pooled aiohttp session per process, deadlines, typed answers.

Every call has a connect deadline and a total deadline. Buffered bodies are capped; bodies
the proxy passes on untouched (media, files, proxy-mode pages) are streamed, with the total
deadline applied to the wait for the headers and an idle deadline between chunks.

Each call goes to one of the project's healthy instances, the one with the fewest calls in
flight (ties in turn), and through three guards (docs/running-the-proxy.md, "When a service
is slow or down"; docs/routing.md, "Health-checked instances"): the instance's health
(`health.py`: connection failures in a row, or failed probes, take it out of rotation; its
calls are then 503s at once), its bulkhead (`bulkhead.py`: a bounded share of concurrent
calls per instance, so a hung service cannot take the other services' connections) and the
route circuit breakers (`breaker.py`): a timeout counts against the route only, and a route
that opens makes the client probe the instance (`GET ping`, a short deadline); only a failed
probe takes the instance out, so a slow page never takes its healthy neighbours down.

A GET or HEAD (nothing to replay) whose connection fails is retried once on another healthy
instance of the same project: an instance that dies costs no page.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from itertools import count
from typing import Any

import aiohttp
import orjson
from aiohttp import hdrs
from multidict import CIMultiDictProxy
from yarl import URL

from plugit.exceptions import PlugItError
from plugit.protocol import ERROR_TRACEBACK_KEY, HEADER_GUARD_REFUSED, PATH_PING

from . import metrics
from .breaker import Breaker, Breakers, State
from .bulkhead import Bulkheads, Full, Release
from .config import Project, UpstreamConfig
from .health import Health
from .requestcontext import CURRENT, with_request_id

__all__ = [
    "BodyStream",
    "CircuitOpen",
    "ConnectTimeout",
    "ProtocolViolation",
    "ServiceFailed",
    "ServiceRefused",
    "SingleFlight",
    "Upstream",
    "UpstreamAnswer",
    "UpstreamBusy",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

logger = logging.getLogger("plugit_proxy.upstream")

CHUNK_SIZE = 64 * 1024
# orjson turns integers of 19 digits or more into floats when they leave 64 bits; json never
# does. Such bodies go to json. (Every digit becomes "0", every other byte " ": a run of 19
# digits is then a plain substring search, ten times faster than a regular expression.)
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19
# Content-Encoding values that leave the body as sent (a compressed body grows when decoded).
_IDENTITY = frozenset({"", "identity"})
_REPLAYABLE = frozenset({"GET", "HEAD"})


class UpstreamError(PlugItError):
    """A service could not give a usable answer; `status` is what the browser gets.

    `detail` is the service's own account, for developers (its traceback, for one): a page
    shows it only in development mode or to platform administrators.
    """

    status = 502

    def __init__(self, message: str, *, url: str, detail: str = "") -> None:
        super().__init__(f"{message} ({url})")
        self.reason = message
        self.url = url
        self.detail = detail


class ServiceFailed(UpstreamError):
    """The action raised: the service answered 500 (its traceback in `detail` with DEBUG)."""

    status = 500


class ServiceRefused(UpstreamError):
    """The service's network guard refused this proxy's address (a 404 carrying the header
    `X-Plugit-Guard-Refused`): a configuration mistake, not a missing page."""


def refusal_reason(seen: str) -> str:
    """Say who was refused and what to change, from the refusal header's value."""
    try:
        address = ipaddress.ip_address(seen.strip())
    except ValueError:
        return (
            "the service refused this proxy's address (its network guard; the service's log "
            "names the address): add it to the service's PI_ALLOWED_NETWORKS (config.py) "
            "or PLUGIT_ALLOWED_NETWORKS (environment, comma separated)"
        )
    return (
        f"the service refused this proxy's address, {address} (its network guard): add "
        f"{address}/{address.max_prefixlen} to the service's PI_ALLOWED_NETWORKS (config.py) "
        "or PLUGIT_ALLOWED_NETWORKS (environment, comma separated)"
    )


class UpstreamUnavailable(UpstreamError):
    """The service refused the connection or could not be reached."""


class CircuitOpen(UpstreamUnavailable):
    """The service failed to answer too often lately: the proxy does not call it for a while."""

    status = 503


class UpstreamBusy(CircuitOpen):
    """Every connection the service instance may use stayed busy: refused without calling."""


class UpstreamTimeout(UpstreamError):
    """The service did not answer before the deadline."""

    status = 504


class ConnectTimeout(UpstreamTimeout):
    """The service did not even accept the connection before the connect deadline."""


class ProtocolViolation(UpstreamError):
    """The service answered something the protocol does not allow (bad JSON, too big...)."""


class BodyStream:
    """The still unread body of an answer; iterate it once, then it closes itself."""

    def __init__(self, response: aiohttp.ClientResponse, idle_timeout: float) -> None:
        self._response = response
        self._idle_timeout = idle_timeout
        self._on_close: Release | None = None

    def on_close(self, release: Release) -> None:
        """Call `release` once the body is closed (it gives the instance's slot back)."""
        self._on_close = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                async with asyncio.timeout(self._idle_timeout):
                    chunk = await self._response.content.read(CHUNK_SIZE)
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    async def read(self, limit: int, deadline: float, url: str) -> bytes:
        """Read the whole body (at most `limit` bytes, within `deadline` seconds), then close."""
        try:
            async with asyncio.timeout(deadline):
                return await _read_capped(self._response, limit, url)
        except TimeoutError:
            raise UpstreamTimeout(
                f"the service did not send its answer within {deadline:g} s", url=url
            ) from None
        except aiohttp.ClientError as error:
            raise UpstreamUnavailable(f"the answer was cut: {error}", url=url) from None
        finally:
            self.close()

    def close(self) -> None:
        """Release the connection (to the pool when the body was read to the end)."""
        self._response.release()
        if self._on_close is not None:
            release, self._on_close = self._on_close, None
            release()


@dataclass(slots=True)
class UpstreamAnswer:
    """What a service answered: status, headers, and the body (buffered or streamed)."""

    status: int
    headers: CIMultiDictProxy[str]
    url: str
    body: bytes = b""
    stream: BodyStream | None = None

    def json(self) -> Any:
        """Decode the JSON body; an empty body means no data (`{}`)."""
        if not self.body.strip():
            return {}
        if _LONG_NUMBER not in self.body.translate(_DIGITS_ONLY):
            try:
                return orjson.loads(self.body)
            except orjson.JSONDecodeError:
                pass  # what orjson refuses and json accepts (NaN, UTF-16, lone surrogates)
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise ProtocolViolation(
                f"the answer is not valid JSON: {error}", url=self.url
            ) from None
        except RecursionError:  # orjson stops at 1024 levels, json at the interpreter's limit
            raise ProtocolViolation("the answer's JSON is nested too deep", url=self.url) from None

    def traceback(self) -> str:
        """The traceback a DEBUG service sends in the JSON of a 500 (buffered), else ""."""
        try:
            data = self.json()
        except ProtocolViolation:
            return ""
        found = data.get(ERROR_TRACEBACK_KEY) if isinstance(data, dict) else None
        return found if isinstance(found, str) else ""

    def guard_refusal(self) -> ServiceRefused | None:
        """The error of a 404 from the service's network guard (`X-Plugit-Guard-Refused`)."""
        seen = self.headers.get(HEADER_GUARD_REFUSED)
        if self.status != 404 or seen is None:
            return None
        return ServiceRefused(refusal_reason(seen), url=self.url)

    def text(self) -> str:
        """Decode the body as UTF-8 text."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("the answer is not UTF-8 text", url=self.url) from None

    async def buffer(self, limit: int, deadline: float) -> bytes:
        """Read a streamed body into `body` (capped) and return it."""
        if self.stream is not None:
            stream, self.stream = self.stream, None
            self.body = await stream.read(limit, deadline, self.url)
        return self.body

    def close(self) -> None:
        """Release the connection of an unread stream."""
        if self.stream is not None:
            self.stream.close()


@dataclass(kw_only=True)
class Request:
    """One call to a service."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Any = None
    stream: bool = False
    service: str = ""  # the instance's base URL: its circuit breaker guards the call


@dataclass(slots=True)
class _Group:
    """The instances of one project, and whose turn it is when several are equally busy."""

    urls: tuple[str, ...]
    turn: count[int] = field(default_factory=count)


class Upstream:
    """The pooled HTTP client of one process; create it in the running loop."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.breakers = Breakers(failures=config.breaker_failures, cooldown=config.breaker_cooldown)
        self.health = Health(
            eject_after=config.eject_after,
            backoff=config.eject_backoff,
            max_backoff=config.eject_max_backoff,
        )
        self._groups: dict[str, _Group] = {}  # each instance's project group
        self.bulkheads = Bulkheads(
            limit=config.instance_connections, wait=config.instance_queue_timeout
        )
        # One per client: aiohttp only reads it, and building it per call shows in a profile.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=config.connect_timeout, sock_connect=config.connect_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._probing: set[str] = set()  # instances being probed: one probe at a time

    async def start(self) -> None:
        """Open the connection pool (call from the running event loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.config.pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=None),
            )

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Upstream.start() was not awaited (ASGI lifespan not run?)")
        return self._session

    def pick(self, project: Project) -> str:
        """Pick the project's healthy instance with the fewest calls in flight (ties in turn).

        With every instance out of rotation, one of them: its call is then a 503 at once.
        """
        urls = project.service_urls
        group = self._groups.get(urls[0])
        if group is None or group.urls is not urls:
            group = self._know(urls, project.key)
        if len(urls) == 1:
            return urls[0]
        return self._least_outstanding(group, "") or urls[next(group.turn) % len(urls)]

    def _know(self, urls: tuple[str, ...], project: str) -> _Group:
        """Remember a project's instances (for retries), and follow their health."""
        group = _Group(urls)
        for url in urls:
            self._groups[url] = group
        self.health.know(urls, project)
        return group

    def _least_outstanding(self, group: _Group, besides: str) -> str | None:
        """The usable instance of `group` (not `besides`) with the fewest calls in flight."""
        urls = group.urls
        turn = next(group.turn)
        usable = self.health.usable
        in_flight = self.bulkheads.in_flight
        best: str | None = None
        fewest = 0
        for offset in range(len(urls)):
            url = urls[(turn + offset) % len(urls)]
            if url == besides or not usable(url):
                continue
            calls = in_flight(url)
            if best is None or calls < fewest:
                best, fewest = url, calls
        return best

    async def send(self, request: Request) -> UpstreamAnswer:
        """Make the call; a GET whose connection fails is made once more on another instance.

        Out of rotation, busy, or its route's circuit open: a 503 at once, without calling.
        """
        try:
            return await self._measured(request)
        except (UpstreamUnavailable, ConnectTimeout) as error:
            if isinstance(error, UpstreamBusy) or not _replayable(request):
                raise
            group = self._groups.get(request.service)
            other = None if group is None else self._least_outstanding(group, request.service)
            if other is None:
                raise
            logger.info("retrying %s on %s: %s", request.url, other, error.reason)
            url = other + request.url.removeprefix(request.service)
            return await self._measured(replace(request, url=url, service=other))

    async def _measured(self, request: Request) -> UpstreamAnswer:
        """`_guarded`, counted (metrics.py): time to the answer, calls in flight, failures."""
        record = CURRENT.get()
        project = "" if record is None else record.project
        service = request.service
        if record is not None:
            record.service = service  # for the access log
        kind = metrics.kind_of(request.url[len(service) :])
        metrics.upstream_started(project, service)
        started = time.perf_counter()
        failure: str | None = "cancelled"
        try:
            answer = await self._guarded(request)
            failure = None
            return answer
        except UpstreamError as error:
            failure = _failure_reason(error)
            raise
        finally:
            metrics.upstream_call(project, service, kind, time.perf_counter() - started, failure)

    async def _guarded(self, request: Request) -> UpstreamAnswer:
        """Make the call unless the instance is out or the route's circuit open (503s)."""
        service = request.service
        if not service:
            return await self._slotted(request)
        health = self.health
        if not health.usable(service):
            raise CircuitOpen(
                "the service failed to answer several times in a row; "
                "the proxy tries it again shortly",
                url=request.url,
            )
        route = request.url.removeprefix(service)
        page = self.breakers.route(service, route)
        page_admitted = State.CLOSED if page is None else page.admit()
        if page_admitted is None:
            raise CircuitOpen(
                "this page did not answer in time several times in a row; "
                "the proxy tries it again shortly",
                url=request.url,
            )
        started = time.monotonic()
        route_alive: bool | None = None  # whether the route answered; None: no verdict
        try:
            answer = await self._slotted(request)
            route_alive = True
            health.answered(service)
        except UpstreamBusy:
            raise  # nothing was sent: no verdict
        except (ConnectTimeout, UpstreamUnavailable) as error:
            health.call_failed(service, error.reason)  # refused, reset: the instance is down
            raise
        except UpstreamTimeout:
            route_alive = False  # connected, but this route did not answer in time
            raise
        except ProtocolViolation:
            route_alive = True  # it answered, just not well
            health.answered(service)
            raise
        finally:
            if self._judge_route(service, route, page, page_admitted, route_alive, started):
                await self._probe(service)
        return answer

    def _judge_route(
        self,
        service: str,
        route: str,
        page: Breaker | None,
        admitted: State,
        alive: bool | None,
        started: float,
    ) -> bool:
        """Count a call's outcome against its route; tell whether that just opened it."""
        if page is None:
            if not alive:  # made on the first timeout only: answers cost nothing
                page = self.breakers.route(service, route, create=alive is False)
            if page is None:
                return False
        was_open, before = page.state is State.OPEN, page.state
        page.done(admitted, alive, started)
        record = CURRENT.get()
        project = "" if record is None else record.project
        metrics.breaker_changed(project, service, before.value, page.state.value)
        if alive:
            self.breakers.settle(service, route)
        return not was_open and page.state is State.OPEN

    async def _probe(self, service: str) -> None:
        """Check that the instance still answers `ping`; take it out of rotation if it does not.

        The call that opened a route makes the probe before giving its 504 (one probe per
        instance at a time), outside the bulkhead: the slow route may hold all its slots.
        """
        if service in self._probing:
            return
        self._probing.add(service)
        deadline = self.config.probe_timeout
        try:
            async with asyncio.timeout(deadline):
                url = URL(service + PATH_PING, encoded=True)
                async with self.session.get(url, allow_redirects=False) as response:
                    await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            failure = str(error) or f"no answer within {deadline:g} s"
            self.health.eject(
                service, f"a page kept timing out and the health probe failed ({failure})"
            )
        else:
            logger.info("a page of service %s keeps timing out; the service answers", service)
        finally:
            self._probing.discard(service)

    async def _slotted(self, request: Request) -> UpstreamAnswer:
        """Make the call within the instance's share of connections (`UpstreamBusy` if none)."""
        try:
            release = await self.bulkheads.enter(request.service)
        except Full:
            raise UpstreamBusy(
                "every connection to the service is busy; try again shortly", url=request.url
            ) from None
        try:
            answer = await self._send(request)
        except BaseException:
            release()
            raise
        if answer.stream is None:
            release()
        else:
            answer.stream.on_close(release)
        return answer

    async def _send(self, request: Request) -> UpstreamAnswer:
        """Make the call; buffer the body (capped) unless `request.stream`."""
        config = self.config
        url = URL(request.url, encoded=True)
        try:
            async with asyncio.timeout(config.timeout):
                response = await self.session.request(
                    request.method,
                    url,
                    params=request.params or None,
                    headers=with_request_id(request.headers),
                    data=request.data,
                    allow_redirects=False,
                    timeout=self._timeout,
                )
                if request.stream:
                    return _answer(
                        response, request.url, stream=BodyStream(response, config.timeout)
                    )
                async with response:
                    body = await _read_capped(response, config.max_body, request.url)
                return _answer(response, request.url, body=body)
        except UpstreamError:
            raise
        except aiohttp.ConnectionTimeoutError:
            raise ConnectTimeout(
                f"the service did not accept a connection within {config.connect_timeout:g} s",
                url=request.url,
            ) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise UpstreamTimeout(
                f"the service did not answer within {config.timeout:g} s", url=request.url
            ) from None
        except aiohttp.ClientConnectorError as error:
            raise UpstreamUnavailable(
                f"the service cannot be reached: {error.os_error or error}", url=request.url
            ) from None
        except aiohttp.ClientError as error:
            raise UpstreamUnavailable(
                f"the connection to the service failed: {error}", url=request.url
            ) from None


def _failure_reason(error: UpstreamError) -> str:
    """The metrics' word for a failed call (a bounded set)."""
    match error:
        case UpstreamBusy():
            return "busy"
        case CircuitOpen():
            return "open"
        case ConnectTimeout():
            return "connect_timeout"
        case UpstreamTimeout():
            return "timeout"
        case UpstreamUnavailable():
            return "unavailable"
        case ProtocolViolation():
            return "protocol"
        case _:
            return "refused" if isinstance(error, ServiceRefused) else "error"


def _replayable(request: Request) -> bool:
    """Tell whether a failed call may be sent again elsewhere: a GET or HEAD, no body."""
    return request.method in _REPLAYABLE and request.data is None


def _answer(
    response: aiohttp.ClientResponse,
    url: str,
    *,
    body: bytes = b"",
    stream: BodyStream | None = None,
) -> UpstreamAnswer:
    return UpstreamAnswer(
        status=response.status,
        headers=response.headers,  # already a read-only copy of the answer's headers
        url=url,
        body=body,
        stream=stream,
    )


async def _read_capped(response: aiohttp.ClientResponse, limit: int, url: str) -> bytes:
    declared = response.content_length
    if declared is not None:
        if declared > limit:
            raise ProtocolViolation(f"the answer is larger than {limit} bytes", url=url)
        if response.headers.get(hdrs.CONTENT_ENCODING, "") in _IDENTITY:
            # The parser stops at the declared length, and nothing is decompressed: the body
            # cannot pass the cap, so one read replaces the loop over chunks.
            return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        size += len(chunk)
        if size > limit:
            raise ProtocolViolation(f"the answer is larger than {limit} bytes", url=url)
        chunks.append(chunk)
    return b"".join(chunks)


class SingleFlight:
    """Coalesce concurrent calls with the same key into one (per process)."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run `work()` unless a call for `key` is in flight; then share its outcome."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._forget(key, done))
        # shield: one impatient caller being cancelled must not cancel the others' call.
        return await asyncio.shield(flight)

    def _forget(self, key: str, flight: asyncio.Future[Any]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # mark as retrieved: callers have seen it

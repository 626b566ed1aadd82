"""The circuit breakers: a slow page fails at once, and other services never notice.

Route breakers count timeouts; whether an instance itself is down is the health module's
(its ejection replaced the instance breaker: tests/proxy/test_health_units.py), and the
tests here that need a dead instance check it through the health module.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plugit.exceptions import ConfigurationError
from plugit.testing import LiveServer
from plugit_proxy.asgi import build_application
from plugit_proxy.breaker import Breaker, Breakers, State
from plugit_proxy.conf import load_configuration
from plugit_proxy.config import Project, ProxyConfig, UpstreamConfig
from plugit_proxy.fromsettings import upstream_from_settings
from plugit_proxy.upstream import CircuitOpen, Request, Upstream, UpstreamUnavailable

from .conftest import ProxyFactory, fresh_cache
from .services import build_demo_service, raw_service
from .test_failures import closed_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: FakeClock, failures: int = 3) -> Breaker:
    return Breaker("http://svc/", failures=failures, cooldown=10.0, clock=clock)


def fail(circuit: Breaker, times: int = 1) -> None:
    for _ in range(times):
        admitted = circuit.admit()
        assert admitted is not None
        circuit.done(admitted, alive=False)


def test_opens_after_consecutive_failures_only() -> None:
    circuit = breaker(FakeClock())
    fail(circuit, 2)
    circuit.done(State.CLOSED, alive=True)  # an answer (even a 500) resets the count
    fail(circuit, 2)
    assert circuit.state is State.CLOSED
    fail(circuit)
    assert circuit.state is State.OPEN
    assert circuit.admit() is None
    assert not circuit.available()


def test_half_open_lets_one_trial_through_and_success_closes() -> None:
    clock = FakeClock()
    circuit = breaker(clock)
    fail(circuit, 3)
    clock.now += 9.9
    assert circuit.admit() is None
    clock.now += 0.1
    assert circuit.available()
    assert circuit.admit() is State.HALF_OPEN
    assert not circuit.available()
    assert circuit.admit() is None  # one trial at a time
    circuit.done(State.HALF_OPEN, alive=True)
    assert circuit.state is State.CLOSED
    assert circuit.admit() is State.CLOSED


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    clock = FakeClock()
    circuit = breaker(clock)
    fail(circuit, 3)
    clock.now += 10
    fail(circuit)
    assert circuit.state is State.OPEN
    clock.now += 9.9
    assert circuit.admit() is None
    clock.now += 0.1
    assert circuit.admit() is State.HALF_OPEN


def test_cancelled_trial_frees_the_slot() -> None:
    clock = FakeClock()
    circuit = breaker(clock)
    fail(circuit, 3)
    clock.now += 10
    assert circuit.admit() is State.HALF_OPEN
    circuit.done(State.HALF_OPEN, alive=None)
    assert circuit.state is State.HALF_OPEN
    assert circuit.admit() is State.HALF_OPEN


def test_late_failures_of_calls_admitted_before_opening_change_nothing() -> None:
    clock = FakeClock()
    circuit = breaker(clock, failures=1)
    assert circuit.admit() is State.CLOSED
    assert circuit.admit() is State.CLOSED
    circuit.done(State.CLOSED, alive=False)
    clock.now += 10
    assert circuit.admit() is State.HALF_OPEN
    circuit.done(State.CLOSED, alive=False)  # the older call fails late: the trial stays
    assert circuit.state is State.HALF_OPEN
    assert circuit.admit() is None


def test_logs_once_when_opening_and_once_when_closing(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    circuit = breaker(clock, failures=2)
    with caplog.at_level(logging.INFO, logger="plugit_proxy.breaker"):
        fail(circuit, 2)
        for _ in range(5):
            assert circuit.admit() is None
        clock.now += 10
        circuit.done(circuit.admit() or State.CLOSED, alive=True)
        circuit.done(State.CLOSED, alive=True)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "http://svc/" in messages[0]
    assert "opened" in messages[0]
    assert "http://svc/" in messages[1]
    assert "closed" in messages[1]


def test_breakers_are_per_route_and_can_be_disabled() -> None:
    breakers = Breakers(failures=1, cooldown=10, clock=FakeClock())
    first = breakers.route("http://a/", "action/x", create=True)
    assert first is not None
    assert first is breakers.route("http://a/", "action/x")
    fail(first)
    assert first.state is State.OPEN
    assert breakers.route("http://b/", "action/x") is None
    assert Breakers(failures=0, cooldown=10).route("http://a/", "x", create=True) is None


def test_settings_configure_the_breaker() -> None:
    def upstream(**environ: str) -> UpstreamConfig:
        return load_configuration(environ=environ).upstream

    config = upstream(PLUGIT_UPSTREAM_BREAKER_FAILURES="2", PLUGIT_UPSTREAM_BREAKER_COOLDOWN="0.5")
    assert (config.breaker_failures, config.breaker_cooldown) == (2, 0.5)
    assert upstream_from_settings().breaker_failures == 5
    assert upstream(PLUGIT_UPSTREAM_BREAKER_FAILURES="0").breaker_failures == 0
    with pytest.raises(ConfigurationError, match="PLUGIT_UPSTREAM_BREAKER_FAILURES='-1'"):
        upstream(PLUGIT_UPSTREAM_BREAKER_FAILURES="-1")


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    client = Upstream(UpstreamConfig(connect_timeout=0.5, timeout=0.5, eject_after=1))
    await client.start()
    yield client
    await client.aclose()


async def test_http_errors_prove_the_service_is_alive(upstream: Upstream) -> None:
    with LiveServer(raw_service(b"oops", status=503)) as server:
        base = server.url + "/"
        for _ in range(3):
            answer = await upstream.send(Request(method="GET", url=base + "meta/", service=base))
            assert answer.status == 503


async def test_refused_connections_take_the_instance_out(upstream: Upstream) -> None:
    base = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(UpstreamUnavailable) as first:
        await upstream.send(Request(method="GET", url=base + "meta/", service=base))
    assert not isinstance(first.value, CircuitOpen)
    with pytest.raises(CircuitOpen) as refused:
        await upstream.send(Request(method="GET", url=base + "meta/", service=base))
    assert refused.value.status == 503


class Hangable:
    """Wrap a service: count its calls, and hang every call until `heal()`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.healthy = threading.Event()  # set from the test's thread, not the server's
        self.calls = 0

    def heal(self) -> None:
        self.healthy.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
            if not self.healthy.is_set():
                await asyncio.to_thread(self.healthy.wait)
        await self.app(scope, receive, send)


async def test_open_circuit_answers_at_once_and_spares_other_services(
    demo_service: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Hangable(build_demo_service(str(tmp_path_factory.mktemp("hung"))))
    with LiveServer(service) as server:
        dead = Project(key="a", name="A", mount="/a/", service_urls=(server.url,), menu_action=None)
        fine = Project(key="b", name="B", mount="/b/", service_urls=(demo_service.url,))
        upstream = UpstreamConfig(
            connect_timeout=0.5,
            timeout=2.0,  # room for the other service's page to answer meanwhile
            breaker_failures=2,
            breaker_cooldown=1.0,
            probe_timeout=0.3,
            eject_backoff=1.0,
            health_interval=0,  # no prober: a live call tries the instance after the backoff
        )
        app = build_application(
            ProxyConfig(upstream=upstream, projects=(dead, fine)), cache=fresh_cache()
        )
        await app.startup()
        transport = httpx.ASGITransport(app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                with (
                    caplog.at_level(logging.INFO, logger="plugit_proxy.breaker"),
                    caplog.at_level(logging.INFO, logger="plugit_proxy.health"),
                ):
                    await _walk_through_the_circuit(client, service)
        finally:
            service.heal()
            await app.shutdown()
    watched = ("plugit_proxy.breaker", "plugit_proxy.health")
    logged = [r.getMessage() for r in caplog.records if r.name in watched]
    assert len(logged) == 4
    assert f"page {server.url}/meta/public opened" in logged[0]  # the route's timeouts
    assert f"instance {server.url}/ taken out" in logged[1]  # then the probe: no answer either
    assert "health probe failed" in logged[1]
    assert f"instance {server.url}/ back in rotation" in logged[2]
    assert f"page {server.url}/meta/public closed" in logged[3]


async def _walk_through_the_circuit(client: httpx.AsyncClient, service: Hangable) -> None:
    for _ in range(2):
        stuck = asyncio.create_task(client.get("/a/public"))
        await asyncio.sleep(0)  # the stuck page is on its way
        assert (await client.get("/b/public")).status_code == 200
        assert not stuck.done()  # the other service answered while this one hangs
        assert (await stuck).status_code == 504
    opened_at = time.monotonic()
    calls = service.calls
    refused = await client.get("/a/public")
    assert refused.status_code == 503  # at once: the service was not called (below)
    assert "temporarily unavailable" in refused.text
    assert "plugit-header" in refused.text
    assert service.calls == calls
    assert (await client.get("/a/")).status_code == 503  # the whole instance: the probe failed
    assert service.calls == calls
    assert (await client.get("/b/public")).status_code == 200

    service.heal()
    await asyncio.sleep(max(0.0, opened_at + 1.0 - time.monotonic()) + 0.05)
    assert (await client.get("/a/public")).status_code == 200
    assert service.calls > calls
    assert (await client.get("/a/public")).status_code == 200
    assert (await client.get("/b/public")).status_code == 200


def test_failures_of_calls_started_before_an_answer_are_no_verdict() -> None:
    clock = FakeClock()
    circuit = breaker(clock, failures=2)
    started = clock.now
    slow = [circuit.admit() for _ in range(3)]  # three calls of one hung action
    clock.now += 0.5
    admitted = circuit.admit()
    assert admitted is not None
    circuit.done(admitted, alive=True, started=clock.now)  # another page is answered
    clock.now += 0.5
    for call in slow:  # the hung calls time out together
        assert call is not None
        circuit.done(call, alive=False, started=started)
    assert circuit.state is State.CLOSED
    fail_since = clock.now
    for _ in range(2):  # calls made after that answer, failing: the service is dead now
        call = circuit.admit()
        assert call is not None
        circuit.done(call, alive=False, started=fail_since)
    assert circuit.state is State.OPEN


async def test_a_slow_page_never_takes_its_healthy_neighbours_down(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    upstream = UpstreamConfig(
        connect_timeout=0.5, timeout=0.3, breaker_failures=2, breaker_cooldown=60, probe_timeout=2
    )
    handle = proxy_factory(demo_service.url, live=True, upstream=upstream, menu_action=None)
    client = handle.client
    slow = [(await client.get("/plugIt/slow")).status_code for _ in range(8)]
    assert slow[:2] == [504, 504]
    assert set(slow[2:]) == {503}  # the slow page alone: refused at once for the cool-down
    for _ in range(3):
        assert (await client.get("/plugIt/public")).status_code == 200
        echoed = await client.get("/plugIt/echo?x=1")
        assert echoed.status_code == 200
        assert echoed.json()["args"]["x"] == ["1"]


async def test_a_dead_instance_is_taken_out(proxy_factory: ProxyFactory) -> None:
    upstream = UpstreamConfig(connect_timeout=0.5, timeout=0.5, eject_after=2, health_interval=0)
    handle = proxy_factory(f"http://127.0.0.1:{closed_port()}", live=True, upstream=upstream)
    first = [(await handle.client.get(f"/plugIt/page{n}")).status_code for n in range(2)]
    assert first == [502, 502]  # refused connections: the instance itself is down
    refused = await handle.client.get("/plugIt/another/page")
    assert refused.status_code == 503
    assert "temporarily unavailable" in refused.text


def test_route_breakers_are_made_on_failure_dropped_on_answer_and_bounded() -> None:
    breakers = Breakers(failures=2, cooldown=10, clock=FakeClock(), max_routes=3)
    assert breakers.route("http://a/", "action/x") is None  # nothing kept for answered routes
    slow = breakers.route("http://a/", "action/x", create=True)
    assert slow is not None
    fail(slow, 2)
    assert slow.state is State.OPEN
    for n in range(5):  # random paths cannot grow memory: the oldest go first
        breakers.route("http://a/", f"action/{n}", create=True)
    assert breakers.route("http://a/", "action/x") is None
    kept = breakers.route("http://a/", "action/4")
    assert kept is not None
    kept.done(State.CLOSED, alive=True)
    breakers.settle("http://a/", "action/4")
    assert breakers.route("http://a/", "action/4") is None

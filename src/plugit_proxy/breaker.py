"""Circuit breakers: stop calling what keeps failing to answer, for a while.

A breaker is CLOSED: every call goes through; after `failures` consecutive failures it is
OPEN: calls are refused at once, without touching the network, for `cooldown` seconds. Then
it is HALF-OPEN: one trial call at a time goes through; an answer closes it, a failure opens
it again. Any HTTP answer (4xx and 5xx too) counts as success: it proves the peer is alive.

There is one per **route** of an instance (`action/slow`, `meta/slow`...), per process,
which counts the timeouts of that route only. A slow page therefore becomes a fast 503 of its
own after a few timeouts, while its healthy neighbours keep answering: anyone can make a page
slow (a costly search), nobody can take the whole service down with it. When a route opens,
the upstream client probes the instance once (`ping`); only a probe that fails too (a hung
or dead instance) takes the instance out of rotation. Whether an instance itself is up is
health.py's business (connection failures and probes), not a breaker's.

Route breakers are made on a route's first timeout and dropped when it answers again, and at
most `max_routes` are kept (the oldest go first): random paths cannot grow memory.

The metrics count every change of state (`plugit_breaker_transitions`; the upstream client
reports those its calls make, a breaker the move to half-open when its cool-down ends) and
the breakers not closed (`plugit_breakers_open`; one dropped while open is taken off).

A failure counts only when the breaker's peer has not answered anything since that call
started: one hung action times out many calls at once, but they are one verdict, not many.
The clock is injectable (tests drive it by hand).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from . import metrics
from .requestcontext import CURRENT

__all__ = ["Breaker", "Breakers", "State"]

MAX_ROUTES = 1024

logger = logging.getLogger("plugit_proxy.breaker")

Clock = Callable[[], float]


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Breaker:
    """The circuit of one instance or route (not thread-safe: one event loop owns it)."""

    def __init__(
        self,
        url: str,
        *,
        failures: int,
        cooldown: float,
        clock: Clock,
        what: str = "page",
        project: str = "",
        instance: str = "",
    ) -> None:
        self.url = url
        self.what = what  # for the log: "page" (a route)
        self.project, self.instance = project, instance  # the metrics' labels
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self.state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._answered_at = float("-inf")  # when the service last answered a call
        self._trial = False  # a half-open trial call is in flight

    def now(self) -> float:
        """The breaker's clock, to time a call's start (for `done`)."""
        return self._clock()

    def available(self) -> bool:
        """Tell whether a call would be let through now (changes nothing)."""
        match self.state:
            case State.CLOSED:
                return True
            case State.OPEN:
                return self._cooled_down()
            case State.HALF_OPEN:
                return not self._trial

    def admit(self) -> State | None:
        """Let a call through: give the state it goes in as (to pass to `done`), or None."""
        if self.state is State.OPEN and self._cooled_down():
            self.state = State.HALF_OPEN
            metrics.breaker_changed(self.project, self.instance, "open", "half-open")
        if self.state is State.CLOSED:
            return State.CLOSED
        if self.state is State.HALF_OPEN and not self._trial:
            self._trial = True
            return State.HALF_OPEN
        return None

    def done(self, admitted: State, alive: bool | None, started: float | None = None) -> None:
        """Record how an admitted call ended: answered, failed, or neither (cancelled).

        A failure of a call that `started` before the service's latest answer is no verdict.
        """
        trial = admitted is State.HALF_OPEN and self.state is State.HALF_OPEN
        if alive:
            self._answered_at = self._clock()
        elif alive is False and started is not None and started < self._answered_at:
            alive = None
        if alive:
            if self.state is not State.CLOSED:
                logger.warning("circuit of %s %s closed: it answers again", self.what, self.url)
            self.state, self._failures, self._trial = State.CLOSED, 0, False
        elif alive is None:
            if trial:
                self._trial = False  # the next caller makes the trial
        elif trial:
            logger.info("circuit of %s %s stays open: the trial call failed", self.what, self.url)
            self._open()
        elif self.state is State.CLOSED:
            self._failures += 1
            if self._failures >= self.threshold:
                logger.warning(
                    "circuit of %s %s opened after %d failures in a row; "
                    "its calls are refused for %g s",
                    self.what,
                    self.url,
                    self._failures,
                    self.cooldown,
                )
                self._open()

    @property
    def idle(self) -> bool:
        """Tell whether the breaker holds nothing worth keeping (closed, no failure counted)."""
        return self.state is State.CLOSED and self._failures == 0

    def _open(self) -> None:
        self.state, self._opened_at, self._trial = State.OPEN, self._clock(), False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown


class Breakers:
    """The route breakers of one process; `failures=0` disables them."""

    def __init__(
        self,
        *,
        failures: int,
        cooldown: float,
        clock: Clock = time.monotonic,
        max_routes: int = MAX_ROUTES,
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self.max_routes = max_routes
        self._clock = clock
        self._routes: dict[tuple[str, str], Breaker] = {}

    def route(self, url: str, route: str, *, create: bool = False) -> Breaker | None:
        """The breaker of one route of instance `url`: None until it first failed (or `create`)."""
        if self.failures <= 0 or not url:
            return None
        key = (url, route)
        breaker = self._routes.get(key)
        if breaker is None and create:
            while len(self._routes) >= self.max_routes:
                oldest = self._routes.pop(next(iter(self._routes)))
                metrics.breaker_dropped(oldest.project, oldest.instance, oldest.state.value)
            breaker = self._routes[key] = self._breaker(url, route)
        return breaker

    def settle(self, url: str, route: str) -> None:
        """Drop the breaker of a route that answers again (it counts nothing any more)."""
        breaker = self._routes.get((url, route))
        if breaker is not None and breaker.idle:
            del self._routes[(url, route)]

    def _breaker(self, url: str, route: str) -> Breaker:
        record = CURRENT.get()  # made while serving a request: the project it is for
        return Breaker(
            url + route,
            failures=self.failures,
            cooldown=self.cooldown,
            clock=self._clock,
            what="page",
            project="" if record is None else record.project,
            instance=url,
        )

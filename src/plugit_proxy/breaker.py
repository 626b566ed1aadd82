"""Circuit breakers: stop calling a service instance that keeps failing to answer, for a while.

One breaker per service base URL, per process. CLOSED lets every call through; after
`failures` consecutive connection failures or timeouts it is OPEN: calls are refused at once,
without touching the network, for `cooldown` seconds. Then it is HALF-OPEN: one trial call at
a time goes through; an answer closes it, a failure opens it again. Any HTTP answer (4xx and
5xx too) counts as success: it proves the service is alive.

A failure counts only when the service has not answered anything since that call started: one
hung action times out many calls at once, but while the service's other calls are answered it
is alive, and its other pages must not be refused.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

__all__ = ["Breaker", "Breakers", "State"]

logger = logging.getLogger("plugit_proxy.breaker")

Clock = Callable[[], float]


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Breaker:
    """The circuit of one service instance (not thread-safe: one event loop owns it)."""

    def __init__(self, url: str, *, failures: int, cooldown: float, clock: Clock) -> None:
        self.url = url
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
                logger.warning("circuit of service %s closed: it answers again", self.url)
            self.state, self._failures, self._trial = State.CLOSED, 0, False
        elif alive is None:
            if trial:
                self._trial = False  # the next caller makes the trial
        elif trial:
            logger.info("circuit of service %s stays open: the trial call failed", self.url)
            self._open()
        elif self.state is State.CLOSED:
            self._failures += 1
            if self._failures >= self.threshold:
                logger.warning(
                    "circuit of service %s opened after %d failures in a row; "
                    "its calls are refused for %g s",
                    self.url,
                    self._failures,
                    self.cooldown,
                )
                self._open()

    def _open(self) -> None:
        self.state, self._opened_at, self._trial = State.OPEN, self._clock(), False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown


class Breakers:
    """The breakers of one process, by service base URL; `failures=0` disables them."""

    def __init__(self, *, failures: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}

    def get(self, url: str) -> Breaker | None:
        """The breaker of the service at base URL `url` (None when disabled)."""
        if self.failures <= 0 or not url:
            return None
        breaker = self._breakers.get(url)
        if breaker is None:
            breaker = Breaker(
                url, failures=self.failures, cooldown=self.cooldown, clock=self._clock
            )
            self._breakers[url] = breaker
        return breaker

    def available(self, url: str) -> bool:
        """Tell whether a call to `url` would be let through now."""
        breaker = self._breakers.get(url) if self.failures > 0 else None
        return breaker is None or breaker.available()

"""Bulkheads: a bounded share of concurrent calls per service instance.

One slow or hung service must not take the connections every other service needs. Each
instance (base URL) may have at most `limit` calls in flight in this process (a streamed body
holds its slot until it is read or closed); a call beyond that waits at most `wait` seconds
for a slot, then is refused (`Full`) without touching the network: the page is a fast 503,
and the other services never notice. `limit=0` turns the bulkheads off.

The calls in flight are counted per instance either way (`in_flight`): the upstream client
sends each call to the healthy instance with the fewest (least outstanding requests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from plugit.exceptions import PlugItError

__all__ = ["Bulkheads", "Full", "Release"]

Release = Callable[[], None]


class Full(PlugItError):
    """Every slot of the instance stayed taken for the whole wait."""


class Bulkheads:
    """The slots of each service instance of one process (one event loop owns them)."""

    def __init__(self, *, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._in_flight: dict[str, int] = {}

    def in_flight(self, url: str) -> int:
        """The calls to instance `url` in flight now (in this process)."""
        return self._in_flight.get(url, 0)

    async def enter(self, url: str) -> Release:
        """Take a slot of instance `url` (waiting at most `wait` s); give what gives it back."""
        if not url:
            return _nothing
        if self.limit <= 0:
            return self._counted(url, None)
        slots = self._slots.get(url)
        if slots is None:
            slots = self._slots[url] = asyncio.Semaphore(self.limit)
        try:
            async with asyncio.timeout(self.wait):
                await slots.acquire()
        except TimeoutError:
            raise Full(url) from None
        return self._counted(url, slots)

    def _counted(self, url: str, slots: asyncio.Semaphore | None) -> Release:
        counts = self._in_flight
        counts[url] = counts.get(url, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                counts[url] -= 1
                if slots is not None:
                    slots.release()

        return release


def _nothing() -> None:
    pass

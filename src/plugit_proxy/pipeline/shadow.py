"""Shadow versions: a copy of each action call, sent after the real answer, compared.

A version marked `shadow` is never shown. When production answers a page's action call,
the same call (method, route, parameters, identity headers, body) goes to the shadow's
instances once the browser's answer has been sent: as a background task, with its own
deadline (PLUGIT_SHADOW_TIMEOUT), at most PLUGIT_SHADOW_IN_FLIGHT copies in flight per
process (more are dropped, and counted). Unsafe methods are copied only to versions allowed
them (PLUGIT_SHADOW_UNSAFE). The shadow's answer is only compared with production's: its
status, its body byte for byte, its latency (each measured up to the answer's headers);
the counts go to registry/shadowstats.py. Nothing of it reaches the browser.

Not copied: pages served from the cache (no action call), proxy mode, uploads (read once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

import aiohttp

from ..config import PRODUCTION, Project, ServiceVersion, UpstreamConfig
from ..csrf import SAFE_METHODS
from ..registry.shadowstats import ShadowTally
from ..upstream import Request, Upstream, UpstreamAnswer, UpstreamError
from .state import Page

__all__ = ["PendingCopy", "ShadowCopier", "pending_copy"]

logger = logging.getLogger("plugit_proxy.shadow")

PENDING = "shadow_copy"  # the page's extras key


@dataclass(slots=True)
class PendingCopy:
    """Production's action call, waiting to be copied once the page is answered."""

    request: Request
    route: str
    started: float
    answer: UpstreamAnswer | None = None
    seconds: float = 0.0  # production's latency, up to its answer's headers

    def answered(self, answer: UpstreamAnswer) -> None:
        self.answer = answer
        self.seconds = time.monotonic() - self.started


def pending_copy(page: Page, request: Request) -> PendingCopy | None:
    """Keep `request` for the shadows when the page is production's and a shadow exists."""
    project = page.project
    if not project.versions or project.version != PRODUCTION:
        return None
    if not any(version.shadow for version in project.versions):
        return None
    if isinstance(request.data, aiohttp.FormData):  # its files are read by the real call
        return None
    pending = PendingCopy(request=request, route=page.route, started=time.monotonic())
    page.extras[PENDING] = pending
    return pending


class ShadowCopier:
    """Send the pages' copies to the shadow versions; count how their answers compare."""

    def __init__(self, upstream: Upstream, config: UpstreamConfig, tally: ShadowTally) -> None:
        self.upstream = upstream
        self.config = config
        self.tally = tally
        self._tasks: set[asyncio.Task[None]] = set()

    def after_answer(self, page: Page) -> None:
        """Start the copies of the page's action call (its answer was sent)."""
        pending = page.extras.pop(PENDING, None)
        if not isinstance(pending, PendingCopy) or pending.answer is None:
            return
        for version in page.project.versions:
            if not version.shadow or not self._copied(page.method, version):
                continue
            key = (page.project.key, version.name, pending.route)
            if len(self._tasks) >= self.config.shadow_in_flight:
                self.tally.add(key, dropped=1)
                continue
            shadow = page.project.for_version(version.name)
            task = asyncio.get_running_loop().create_task(self._copy(shadow, key, pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _copied(self, method: str, version: ServiceVersion) -> bool:
        if method in SAFE_METHODS:
            return True
        return version.shadow_unsafe or version.name in self.config.shadow_unsafe

    async def _copy(self, shadow: Project, key: tuple[str, str, str], pending: PendingCopy) -> None:
        request = pending.request
        base = self.upstream.pick(shadow)
        url = base + request.url.removeprefix(request.service)
        copy = replace(request, url=url, service=base)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.config.shadow_timeout):
                answer = await self.upstream.send(copy)
                seconds = time.monotonic() - started  # up to the headers, as production's
                try:
                    await answer.buffer(self.config.max_body, self.config.shadow_timeout)
                finally:
                    answer.close()
        except (UpstreamError, TimeoutError) as error:
            logger.info("shadow copy of %s to %s failed: %s", pending.route, base, error)
            self.tally.add(key, copies=1, failures=1)
            return
        except Exception:
            logger.exception("shadow copy of %s to %s failed", pending.route, base)
            self.tally.add(key, copies=1, failures=1)
            return
        self.tally.add(key, **_compared(pending, answer, seconds))

    async def stop(self) -> None:
        """Cancel the copies in flight, then write the last counts."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.tally.stop()


def _compared(pending: PendingCopy, answer: UpstreamAnswer, seconds: float) -> dict[str, float]:
    """The counts of one answered copy, next to production's answer."""
    production = pending.answer
    assert production is not None
    # Production's body is known when the page read it (not a file streamed to the browser).
    body_differs = production.stream is None and answer.body != production.body
    return {
        "copies": 1,
        "answered": 1,
        "status_differs": int(answer.status != production.status),
        "body_differs": int(body_differs),
        "shadow_seconds": seconds,
        "production_seconds": pending.seconds,
    }

"""The health prober: one task per process, started and stopped with the application.

Every `interval` seconds it shares this process's new verdicts, reads the other processes'
(healthshare.py), and probes each instance that is due: `ping` (an answer within the probe
deadline, status 200); on first contact `version` too, and an instance that speaks another
protocol version is refused, with one log line naming it, its version and ours. Ejected
instances are due when their backoff ends. With probing off (PLUGIT_HEALTH_PROBES=false) the
process only follows the shared verdicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import orjson
from yarl import URL

from plugit.protocol import PATH_PING, PATH_VERSION, PROTOCOL_VERSION

from .health import Health, Instance, Status
from .healthshare import HealthShare
from .tasks import cancel_and_wait
from .upstream import UpstreamUnavailable as ProbeFailed  # a probe got no usable answer

__all__ = ["Prober"]

logger = logging.getLogger("plugit_proxy.health")


class Prober:
    """Probe the known instances on an interval; share verdicts through the cache."""

    def __init__(
        self,
        health: Health,
        session: aiohttp.ClientSession,
        share: HealthShare | None,
        *,
        interval: float,
        timeout: float,
        probing: bool = True,
    ) -> None:
        self.health = health
        self.session = session
        self.share = share
        self.interval = interval
        self.timeout = timeout
        self.probing = probing
        self._next: dict[str, float] = {}  # when each instance is due (loop time)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the task in the running loop (nothing when the interval is 0)."""
        if self._task is None and self.interval > 0:
            self.health.live_trials = not self.probing  # the probes bring instances back
            self._task = asyncio.get_running_loop().create_task(self._run(), name="plugit-health")

    async def stop(self) -> None:
        """Stop the task, and share what it had not shared yet."""
        await cancel_and_wait(self._task)
        self._task = None
        if self.share is not None:
            await self.share.publish(self.health)

    async def _run(self) -> None:
        while True:
            try:
                await self.cycle()
            except Exception:  # the prober must outlive any surprise
                logger.exception("health probing failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self.health.wake.wait()

    async def cycle(self) -> None:
        """Share verdicts, then probe the instances that are due (all at once)."""
        self.health.wake.clear()
        if self.share is not None:
            await self.share.publish(self.health)
            await self.share.refresh(self.health)
        if self.probing:
            now = asyncio.get_running_loop().time()
            due = [i for i in self.health.instances if self._due(i, now)]
            await asyncio.gather(*(self.probe(instance) for instance in due))
            if self.share is not None:
                await self.share.publish(self.health)

    def _due(self, instance: Instance, now: float) -> bool:
        if instance.out:
            return self.health.retry_due(instance)  # once its backoff is over
        return now >= self._next.get(instance.url, 0.0)

    async def probe(self, instance: Instance) -> None:
        """Probe one instance and record the outcome."""
        url = instance.url
        self._next[url] = asyncio.get_running_loop().time() + self.interval
        try:
            await self._get(url, PATH_PING)
            if instance.status in (Status.NEW, Status.REFUSED):
                problem = await self._version_problem(url)
                if problem is not None:
                    self.health.refuse(url, problem)
                    return
        except ProbeFailed as error:
            self.health.probe_failed(url, error.reason)
        else:
            self.health.probe_answered(url)

    async def _version_problem(self, url: str) -> str | None:
        """Say why `url` speaks another protocol version, or None when it speaks ours."""
        answer = await self._get(url, PATH_VERSION)
        theirs = answer.get("version") if isinstance(answer, dict) else None
        if theirs is None:
            logger.warning("instance %s does not say its protocol version; accepted", url)
            return None
        if str(theirs) != PROTOCOL_VERSION:
            return (
                f"it speaks protocol version {theirs!s}, this proxy speaks version "
                f"{PROTOCOL_VERSION}; its pages are not served"
            )
        return None

    async def _get(self, base: str, path: str) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                url = URL(base + path, encoded=True)
                async with self.session.get(url, allow_redirects=False) as response:
                    body = await response.read()
        except TimeoutError:
            failure = f"no answer to {path} within {self.timeout:g} s"
            raise ProbeFailed(failure, url=base + path) from None
        except (aiohttp.ClientError, OSError) as error:
            raise ProbeFailed(f"{path}: {error}", url=base + path) from None
        if response.status != 200:
            raise ProbeFailed(f"{path} answered {response.status}", url=base + path)
        try:
            return orjson.loads(body) if body.strip() else None
        except orjson.JSONDecodeError:
            return None

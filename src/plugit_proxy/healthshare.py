"""Health verdicts shared by every process of a platform, through the shared cache.

Redis when PLUGIT_REDIS_URL is set, the embedded disk cache otherwise: every process writes
the verdicts it reaches (one entry per instance) and reads the others' once per health
interval, off the request path. The newest verdict wins (health.py `adopt`).
"""

from __future__ import annotations

import logging
from hashlib import sha256
from typing import Any

from django.core.cache.backends.base import BaseCache

from .health import Health, Status, Verdict

__all__ = ["HealthShare", "health_key"]

logger = logging.getLogger("plugit_proxy.health")

KEEP_SECONDS = 24 * 3600  # a verdict outlives any backoff; a newer one replaces it


def health_key(url: str) -> str:
    """The cache key of an instance's verdict."""
    return "plugit:health:" + sha256(url.encode()).hexdigest()[:32]


class HealthShare:
    """Publish this process's new verdicts; adopt the newer ones of other processes."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    async def publish(self, health: Health) -> None:
        """Write the verdicts decided since the last call."""
        changed, health.changed = health.changed, set()
        for url in changed:
            instance = health.get(url)
            if instance is None:
                continue
            verdict = instance.verdict()
            value = [verdict.status.value, verdict.at, verdict.retry_at, verdict.backoff]
            try:
                await self.cache.aset(health_key(url), [*value, verdict.reason], KEEP_SECONDS)
            except Exception as error:  # a cache may be down: health still works locally
                logger.warning("could not share the health of %s: %s", url, error)

    async def refresh(self, health: Health) -> None:
        """Read every known instance's shared verdict; adopt those newer than ours."""
        for instance in health.instances:
            try:
                found = await self.cache.aget(health_key(instance.url))
            except Exception as error:
                logger.warning("could not read the health of %s: %s", instance.url, error)
                return
            verdict = _verdict(found)
            if verdict is not None:
                health.adopt(instance.url, verdict)


def _verdict(found: Any) -> Verdict | None:
    """Read a shared entry; anything of another shape is ignored."""
    if not isinstance(found, list | tuple) or len(found) != 5:
        return None
    status, at, retry_at, backoff, reason = found
    try:
        return Verdict(Status(status), float(at), float(retry_at), float(backoff), str(reason))
    except (ValueError, TypeError):
        return None

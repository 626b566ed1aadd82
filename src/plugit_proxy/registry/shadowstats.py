"""The shadow comparisons' counts: added up in each process, written with atomic updates.

Each process adds its copies' outcomes in memory and writes the sums once a second (and on
shutdown), each as one `UPDATE ... SET n = n + delta` per route: processes never overwrite
each other's counts, so the totals the admin shows are exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from ..tasks import cancel_and_wait

__all__ = ["COUNTS", "RouteKey", "ShadowTally", "write_counts"]

logger = logging.getLogger("plugit_proxy.shadow")

RouteKey = tuple[str, str, str]  # project key, shadow version, route
COUNTS = (
    "copies",
    "answered",
    "status_differs",
    "body_differs",
    "failures",
    "dropped",
    "shadow_seconds",
    "production_seconds",
)
Batch = dict[RouteKey, dict[str, float]]


def write_counts(batch: Batch) -> None:
    """Add each route's counts to its row (created at zero when missing); sync."""
    from django.db.models import F

    from .models import ShadowRoute

    for (project, version, route), deltas in batch.items():
        row, _ = ShadowRoute.objects.get_or_create(
            project=project, version=version, route=route[:500]
        )
        changes: dict[str, Any] = {name: F(name) + value for name, value in deltas.items()}
        ShadowRoute.objects.filter(pk=row.pk).update(**changes)


class ShadowTally:
    """Sum the outcomes of this process's copies; write them every `interval` seconds."""

    def __init__(self, *, interval: float = 1.0, write: Callable[[Batch], None] = write_counts):
        self.interval = interval
        self._write = write
        self._pending: Batch = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, key: RouteKey, **deltas: float) -> None:
        """Count outcomes of one route (names from COUNTS)."""
        row = self._pending.setdefault(key, {})
        for name, value in deltas.items():
            row[name] = row.get(name, 0) + value
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="plugit-shadow-tally"
            )

    async def flush(self) -> None:
        """Write what was counted since the last flush (kept for the next one on failure)."""
        batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            await sync_to_async(self._write)(batch)
        except Exception as error:
            logger.warning("could not write the shadow counts: %s (retried)", error)
            for key, deltas in batch.items():
                row = self._pending.setdefault(key, {})
                for name, value in deltas.items():
                    row[name] = row.get(name, 0) + value

    async def stop(self) -> None:
        """Stop the writer and write the last counts."""
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

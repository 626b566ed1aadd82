"""`/healthz` (liveness) and `/readyz` (readiness): what a load balancer or Kubernetes probes.

`/healthz` answers 200 as long as the process serves requests: nothing else is touched.
`/readyz` answers 200 when the database answers a query, its migrations are all applied
(checked until they are, then remembered: the schema does not go back), and the cache answers
a write and a read; else 503 with a JSON body naming what failed:
`{"ready": false, "failing": {"cache": "..."}}`. Each check has a deadline of `TIMEOUT`
seconds. Both are cheap enough for a probe every second, never cached, and need no session.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.cache.backends.base import BaseCache
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["HEALTH_PATHS", "TIMEOUT", "Readiness", "alive"]

TIMEOUT = 2.0
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
NO_STORE = {"Cache-Control": "no-store"}


async def alive(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer the liveness probe."""
    await _json({"alive": True}, 200)(scope, receive, send)


class Readiness:
    """Check the database and the cache for `/readyz` (one per process)."""

    def __init__(self, cache: BaseCache, *, timeout: float = TIMEOUT) -> None:
        self.cache = cache
        self.timeout = timeout
        self.migrated = False
        self._key = f"plugit-readyz-{os.getpid()}"
        # One thread of its own keeps one database connection across probes.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="plugit-readyz")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        failing = await self.failing()
        body: dict[str, object] = {"ready": not failing}
        if failing:
            body["failing"] = failing
        await _json(body, 503 if failing else 200)(scope, receive, send)

    async def failing(self) -> dict[str, str]:
        """What is not ready, by name (`database`, `cache`), with why; {} when all is."""
        checks = {"database": self._database(), "cache": self._cache()}
        results = await asyncio.gather(*checks.values(), return_exceptions=True)
        failing = {}
        for name, result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                failing[name] = _reason(result, self.timeout)
            elif result is not None:
                failing[name] = result
        return failing

    async def _database(self) -> str | None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            return await asyncio.shield(loop.run_in_executor(self._thread, self._check_database))

    def _check_database(self) -> str | None:
        """Run a query and look for unapplied migrations (blocking: in the probe's thread)."""
        from django.db import connections
        from django.db.migrations.executor import MigrationExecutor

        connection = connections["default"]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not self.migrated:
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
                if plan:
                    return f"{len(plan)} migrations not applied"
                self.migrated = True
        except Exception:
            connection.close()  # the next probe connects afresh
            raise
        return None

    async def _cache(self) -> str | None:
        async with asyncio.timeout(self.timeout):
            token = os.urandom(8).hex()
            await self.cache.aset(self._key, token, 30)
            if await self.cache.aget(self._key) != token:
                return "a value written was not read back"
        return None

    def close(self) -> None:
        """Let the probe's thread go (its database connection closes with the process)."""
        self._thread.shutdown(wait=False)


def _reason(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _json(body: dict[str, object], status: int) -> Response:
    return Response(
        json.dumps(body), status_code=status, media_type="application/json", headers=NO_STORE
    )

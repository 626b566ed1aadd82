"""Live results: every open results page of a poll gets its new counts when anyone votes.

A page opens the socket `live/<poll id>` (the layout's `plugit.socket`), gets the counts at
once, then each time they change. The vote action publishes them once its transaction is
committed.

One process only: the open pages are known in this process's memory, so a vote reaches the
pages whose sockets this process serves. A service run in several processes or machines would
carry each vote to all of them over a shared channel (Redis pub/sub, PostgreSQL
LISTEN/NOTIFY) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from plugit import Service
from plugit.utils import public

__all__ = ["LiveResults", "serve_live_results"]

# The socket close code for a poll that does not exist (the proxy passes it on).
NO_SUCH_POLL = 4404

Counts = dict[str, Any]


class LiveResults:
    """Who watches which poll, and the delivery of new counts to them (thread-safe)."""

    def __init__(self) -> None:
        self._watchers: dict[int, set[asyncio.Queue[Counts]]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def watch(self, poll_id: int) -> Iterator[asyncio.Queue[Counts]]:
        """Receive the poll's counts in the queue yielded, while the `with` block runs."""
        queue: asyncio.Queue[Counts] = asyncio.Queue(maxsize=1)
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._watchers.setdefault(poll_id, set()).add(queue)
        try:
            yield queue
        finally:
            with self._lock:
                watchers = self._watchers.get(poll_id, set())
                watchers.discard(queue)
                if not watchers:
                    self._watchers.pop(poll_id, None)

    def publish(self, poll_id: int, counts: Counts) -> None:
        """Send `counts` to every watcher of the poll (from any thread; never blocks)."""
        with self._lock:
            queues, loop = list(self._watchers.get(poll_id, ())), self._loop
        if loop is None or loop.is_closed():
            return
        for queue in queues:
            loop.call_soon_threadsafe(_replace_latest, queue, counts)


def _replace_latest(queue: asyncio.Queue[Counts], counts: Counts) -> None:
    """Keep only the newest counts for a slow page: each one is the whole state."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(counts)


def serve_live_results(
    target: Service, live: LiveResults, read_counts: Callable[[int], Counts | None]
) -> None:
    """Add the socket `live/<int:pollId>` to `target`: the counts now, then on each change.

    `read_counts(poll_id)` (blocking: it runs in a worker thread) gives the counts, or None
    for a poll that does not exist.
    """

    @target.websocket("/live/<int:pollId>")
    @public()
    async def live_results(websocket: WebSocket, pollId: int) -> None:
        await websocket.accept()  # then closed with a code a page can read, if need be
        counts = await run_in_threadpool(read_counts, pollId)
        if counts is None:
            await websocket.close(code=NO_SUCH_POLL)
            return
        with live.watch(pollId) as updates:
            await websocket.send_json(counts)
            sender = asyncio.create_task(_forward(websocket, updates))
            try:
                await _until_closed(websocket)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender


async def _forward(websocket: WebSocket, updates: asyncio.Queue[Counts]) -> None:
    while True:
        await websocket.send_json(await updates.get())


async def _until_closed(websocket: WebSocket) -> None:
    """Return when the page goes away (what it sends is ignored)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass

"""Run the outbox: `plugit mail worker` (a process of its own) or `BackgroundSender` (a task
in the platform's own event loop, started and stopped by the ASGI lifespan).

Both call `send_due` every few seconds (and purge old replies hourly, see `purge`); the send
itself is blocking (smtplib, the ORM) and runs in one dedicated thread, never on the event
loop. With the default 10 s interval and retry waits capped at 90 s, waiting mail leaves within
two minutes of SMTP coming back, and within seconds of a restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, close_old_connections, connections

from ..tasks import cancel_and_wait
from .models import OutboxMessage
from .outbox import SendReport, send_due
from .purge import Purger

__all__ = [
    "DEFAULT_INTERVAL",
    "BackgroundSender",
    "outbox_exists",
    "run_worker",
    "send_once",
    "start_background_sender",
]

logger = logging.getLogger("plugit_proxy.mail")

DEFAULT_INTERVAL = 10.0


def send_once(purge: Purger | None = None) -> SendReport | None:
    """One pass over the outbox, then `purge` old replies: errors logged, connections tidied."""
    report = None
    try:
        report = send_due()
        (purge or Purger())()
    except Exception:  # the database is away, say: the next pass tries again
        logger.exception("the outbox pass failed")
    finally:
        close_old_connections()
    return report


def outbox_exists() -> bool:
    """Tell whether the outbox's table is in the database (it is not before `migrate`)."""
    try:
        with connections["default"].cursor() as cursor:
            tables = connections["default"].introspection.table_names(cursor)
    except DatabaseError:
        return False
    finally:
        close_old_connections()
    return OutboxMessage._meta.db_table in tables


def run_worker(*, interval: float = DEFAULT_INTERVAL, stop: threading.Event | None = None) -> None:
    """Send queued mail every `interval` seconds until `stop` is set."""
    stop = stop or threading.Event()
    logger.info("mail worker started (every %s s)", interval)
    purge = Purger()
    while not stop.is_set():
        send_once(purge)
        stop.wait(interval)


class BackgroundSender:
    """The outbox worker as an asyncio task of the serving process."""

    def __init__(self, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._purge = Purger()
        self._outbox_found = False
        self._warned = False

    def start(self) -> None:
        """Start sending in the running loop (the first pass is immediate)."""
        if self._task is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="plugit-mail")
            self._task = asyncio.get_running_loop().create_task(self._run(), name="plugit-mail")

    async def stop(self) -> None:
        """Stop after the pass in progress (if any); close the thread's DB connection."""
        task, executor = self._task, self._executor
        self._task = self._executor = None
        if task is None or executor is None:
            return
        await cancel_and_wait(task)
        executor.submit(connections.close_all)
        await asyncio.to_thread(executor.shutdown, wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._executor is not None
        while True:
            await asyncio.shield(loop.run_in_executor(self._executor, self._pass))
            await asyncio.sleep(self.interval)

    def _pass(self) -> SendReport | None:
        # A proxy whose database was never migrated has no outbox: nothing can be queued, so
        # there is nothing to send; say so once instead of failing every pass.
        if not self._outbox_found:
            self._outbox_found = outbox_exists()
            if not self._outbox_found:
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "no mail outbox in the database (table %s missing): this process "
                        "sends no mail until it exists; `plugit proxy`, `plugit platform "
                        "serve` and `plugit mail worker` migrate the database when they start",
                        OutboxMessage._meta.db_table,
                    )
                return None
        return send_once(self._purge)


def start_background_sender() -> BackgroundSender | None:
    """Start sending in the running loop, unless PLUGIT_MAIL_BACKGROUND is off."""
    from django.conf import settings

    if not getattr(settings, "PLUGIT_MAIL_BACKGROUND", True):
        return None
    interval = float(getattr(settings, "PLUGIT_MAIL_WORKER_INTERVAL", DEFAULT_INTERVAL))
    sender = BackgroundSender(interval=interval)
    sender.start()
    return sender

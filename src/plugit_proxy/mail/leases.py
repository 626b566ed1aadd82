"""Claiming queued rows (outbox messages, inbound replies) so that one worker handles each.

A row waits in a `waiting` status until its `next_attempt_at`; a worker claims it by moving it
to `working` with a conditional UPDATE (atomic on SQLite and PostgreSQL alike). A claim older
than the lease is taken over: the worker that held it is presumed dead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from django.db.models import F, Q
from django.utils import timezone

from .models import Leased

M = TypeVar("M", bound=Leased)


def due(waiting: str, working: str, lease: float, now: datetime) -> Q:
    """Rows whose time has come, or whose claim's lease has run out."""
    stale = now - timedelta(seconds=lease)
    return Q(status=waiting, next_attempt_at__lte=now) | Q(status=working, claimed_at__lt=stale)


def claim(model: type[M], pk: int, *, waiting: str, working: str, lease: float) -> M | None:
    """Claim row `pk` for this worker when it is due; None when another worker has it."""
    now = timezone.now()
    rows = model._default_manager.filter(due(waiting, working, lease, now), pk=pk)
    claimed = rows.update(status=working, claimed_at=now, attempts=F("attempts") + 1)
    return model._default_manager.get(pk=pk) if claimed else None

"""Forget old replies: delivered, failed or set aside ones, after PLUGIT_MAIL_KEEP_REPLIES_DAYS.

The outbox worker (`plugit mail worker`, or the platform's background sender) runs `Purger`
on its passes, at most once an hour: every deployment that sends mail runs one. Replies still
waiting for delivery are never purged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from .conf import MailSettings, mail_settings
from .models import InboundReply

__all__ = ["PURGE_EVERY", "Purger", "purge_replies"]

logger = logging.getLogger("plugit_proxy.mail")

PURGE_EVERY = 3600.0
Status = InboundReply.Status
FINISHED = (Status.DELIVERED, Status.FAILED, Status.REJECTED)


def purge_replies(conf: MailSettings | None = None) -> int:
    """Delete the finished replies older than the settings keep them; give how many."""
    conf = conf or mail_settings()
    cutoff = timezone.now() - timedelta(days=conf.keep_replies_days)
    deleted, _ = InboundReply.objects.filter(status__in=FINISHED, created__lt=cutoff).delete()
    if deleted:
        logger.info("purged %d replies older than %d days", deleted, conf.keep_replies_days)
    return deleted


class Purger:
    """Purge on the first call, then at most every `every` seconds."""

    def __init__(
        self, *, every: float = PURGE_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every, self.clock = every, clock
        self._next: float | None = None

    def __call__(self) -> None:
        """Purge if it is time to."""
        now = self.clock()
        if self._next is not None and now < self._next:
            return
        self._next = now + self.every
        purge_replies()

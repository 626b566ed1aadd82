"""Messages per project per minute: a service cannot flood the outbox (or the SMTP relay).

The count is of the project's messages created in the last 60 s, read just before the next
one is added; concurrent requests of one project may overshoot it by a message or two, which
is fine for a flood guard.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from .conf import MailSettings
from .form import MailLimitError
from .models import OutboxMessage

__all__ = ["WINDOW", "check_rate"]

WINDOW = timedelta(minutes=1)


def check_rate(project_key: str, conf: MailSettings) -> None:
    """Raise a 429 `MailLimitError` when the project sent its minute's worth already."""
    since = timezone.now() - WINDOW
    recent = OutboxMessage.objects.filter(project_key=project_key, created__gte=since)
    found = recent.aggregate(oldest=Min("created"), count=Count("pk"))
    if found["count"] < conf.max_per_minute:
        return
    wait = (found["oldest"] + WINDOW - timezone.now()).total_seconds()
    raise MailLimitError(
        "PLUGIT_MAIL_MAX_PER_MINUTE",
        f"project {project_key!r} sent {found['count']} mails in the last minute, "
        f"at most {conf.max_per_minute}",
        status=429,
        retry_after=max(1, math.ceil(wait)),
    )

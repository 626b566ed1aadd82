"""The mail tables: the durable outbox, the reply routes, and received replies.

Each table is a small state machine driven by conditional UPDATEs (`claim`): a row moves from
`queued`/`pending` to `sending`/`delivering` only if nobody else moved it first, which is
atomic on SQLite and on PostgreSQL alike, so several workers never handle one row twice.
A claim older than the lease is taken over: its worker died mid-way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.db import models
from django.utils import timezone


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """The wait before the next try after `attempts` failed ones: doubling, capped."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class Leased(models.Model):
    """A queued row that workers claim (see `leases`): its tries, when next, the last claim."""

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class OutboxMessage(Leased):
    """A mail a service asked the platform to send; kept until sent or failed for good."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    project_key = models.CharField("project", max_length=64, db_index=True)
    sender = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    subject = models.TextField(blank=True)
    body = models.TextField(blank=True)
    html = models.BooleanField("HTML", default=False)
    reply_to = models.CharField(max_length=320, blank=True)
    message_id = models.CharField("Message-ID", max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created"]
        verbose_name = "outbox message"
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.subject!r} to {', '.join(self.recipients)} ({self.status})"


class ReplyRoute(models.Model):
    """Where replies to one sent mail go: a project's service, with its `response_id`."""

    project_key = models.CharField("project", max_length=64, db_index=True)
    response_id = models.CharField(max_length=255)
    message = models.OneToOneField(
        OutboxMessage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reply_route",
    )
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    replies = models.PositiveIntegerField("replies delivered", default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created"]

    def __str__(self) -> str:
        return f"{self.project_key}: {self.response_id}"

    @property
    def expired(self) -> bool:
        """Whether replies may no longer use this route."""
        return self.expires_at <= timezone.now()


class InboundReply(Leased):
    """A reply the SMTP endpoint accepted (kept until delivered), or any reply set aside."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        DELIVERED = "delivered", "Delivered"
        REJECTED = "rejected", "Set aside"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=10)
    mail_from = models.CharField(max_length=320, blank=True)
    recipients = models.JSONField(default=list)
    raw = models.BinaryField()
    route = models.ForeignKey(
        ReplyRoute, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created"]
        verbose_name_plural = "inbound replies"
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="inbound_due"),
        ]

    def __str__(self) -> str:
        return f"reply from {self.mail_from or '?'} via {self.source} ({self.status})"

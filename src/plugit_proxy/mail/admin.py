"""The mail tables in the operators' admin: the outbox, reply routes, received replies."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import InboundReply, OutboxMessage, ReplyRoute


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("subject", "project_key", "status", "attempts", "created", "sent_at")
    list_filter = ("status", "project_key")
    search_fields = ("subject", "sender", "recipients", "message_id")
    readonly_fields = (
        "message_id",
        "reply_to",
        "attempts",
        "claimed_at",
        "sent_at",
        "last_error",
        "created",
    )
    # Spelled out: the form would otherwise put the fields of the base model (Leased) first.
    fields = (
        *("project_key", "sender", "recipients", "subject", "body", "html", "status"),
        *("next_attempt_at", *readonly_fields),
    )
    actions = ["retry_now"]

    @admin.action(description="Send again now (queued or failed messages)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        statuses = [OutboxMessage.Status.QUEUED, OutboxMessage.Status.FAILED]
        count = queryset.filter(status__in=statuses).update(
            status=OutboxMessage.Status.QUEUED, next_attempt_at=timezone.now(), attempts=0
        )
        self.message_user(request, f"{count} message(s) queued again.")


@admin.register(ReplyRoute)
class ReplyRouteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("response_id", "project_key", "replies", "created", "expires_at")
    list_filter = ("project_key",)
    search_fields = ("response_id",)
    readonly_fields = ("message", "created", "replies", "last_reply_at")


@admin.register(InboundReply)
class InboundReplyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created", "source", "mail_from", "status", "attempts", "route")
    list_filter = ("status", "source")
    search_fields = ("mail_from", "last_error")
    readonly_fields = ("raw_text", "route", "attempts", "delivered_at", "created")
    fields = (
        *("source", "mail_from", "recipients", "status", "next_attempt_at", "claimed_at"),
        *("last_error", *readonly_fields),
    )
    exclude = ("raw",)

    @admin.display(description="mail")
    def raw_text(self, reply: InboundReply) -> str:
        return bytes(reply.raw).decode("utf-8", errors="replace")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

"""The mail settings, read from Django settings when asked (never frozen at import)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

__all__ = ["MailSettings", "mail_settings"]


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    """How the outbox sends and how replies are routed; see docs/mail.md."""

    sender: str = "notifications@example.org"
    max_attempts: int = 25
    retry_base: float = 5.0
    retry_cap: float = 90.0
    lease: float = 120.0
    reply_days: int = 90
    delivery_timeout: float = 15.0
    batch: int = 50
    allowed_sender_domains: frozenset[str] = frozenset()
    max_recipients: int = 50
    max_per_minute: int = 60
    max_message_size: int = 1024 * 1024
    receive_max_size: int = 2 * 1024 * 1024
    keep_replies_days: int = 30


def _domains(value: str | Iterable[str]) -> frozenset[str]:
    """A comma list (or any iterable) of domains, lower case."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(item.strip().lower() for item in items if item.strip())


def mail_settings() -> MailSettings:
    """Read the PLUGIT_MAIL_* settings (defaults for any that are not set)."""
    default = MailSettings()

    def number(name: str, fallback: float) -> float:
        return float(getattr(settings, f"PLUGIT_MAIL_{name}", fallback))

    return MailSettings(
        sender=getattr(settings, "PLUGIT_MAIL_SENDER", None) or settings.DEFAULT_FROM_EMAIL,
        max_attempts=int(number("MAX_ATTEMPTS", default.max_attempts)),
        retry_base=number("RETRY_BASE", default.retry_base),
        retry_cap=number("RETRY_CAP", default.retry_cap),
        lease=number("LEASE", default.lease),
        reply_days=int(number("REPLY_DAYS", default.reply_days)),
        delivery_timeout=number("DELIVERY_TIMEOUT", default.delivery_timeout),
        allowed_sender_domains=_domains(
            getattr(settings, "PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS", "")
        ),
        max_recipients=int(number("MAX_RECIPIENTS", default.max_recipients)),
        max_per_minute=int(number("MAX_PER_MINUTE", default.max_per_minute)),
        max_message_size=int(number("MAX_MESSAGE_SIZE", default.max_message_size)),
        receive_max_size=int(number("RECEIVE_MAX_SIZE", default.receive_max_size)),
        keep_replies_days=int(number("KEEP_REPLIES_DAYS", default.keep_replies_days)),
    )

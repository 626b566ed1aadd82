"""The mail settings, read from Django settings when asked (never frozen at import)."""

from __future__ import annotations

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


def mail_settings() -> MailSettings:
    """Read the PLUGIT_MAIL_* settings (defaults for any that are not set)."""
    default = MailSettings()
    return MailSettings(
        sender=getattr(settings, "PLUGIT_MAIL_SENDER", None) or settings.DEFAULT_FROM_EMAIL,
        max_attempts=int(getattr(settings, "PLUGIT_MAIL_MAX_ATTEMPTS", default.max_attempts)),
        retry_base=float(getattr(settings, "PLUGIT_MAIL_RETRY_BASE", default.retry_base)),
        retry_cap=float(getattr(settings, "PLUGIT_MAIL_RETRY_CAP", default.retry_cap)),
        lease=float(getattr(settings, "PLUGIT_MAIL_LEASE", default.lease)),
        reply_days=int(getattr(settings, "PLUGIT_MAIL_REPLY_DAYS", default.reply_days)),
        delivery_timeout=float(
            getattr(settings, "PLUGIT_MAIL_DELIVERY_TIMEOUT", default.delivery_timeout)
        ),
    )

"""Configuration errors as Django system checks, found at start-up, never per request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS

__all__ = ["check_proxy_settings"]

KNOWN_USER_FIELDS = frozenset(DEFAULT_USER_FIELDS) | {"uuid"}


@register("plugit")
def check_proxy_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check the PLUGIT_* settings of the standalone proxy."""
    from .asgi import config_from_settings

    messages: list[CheckMessage] = []
    if settings.PLUGIT_MODE == "platform":  # projects come from the database, not settings
        return messages
    try:
        config_from_settings()
    except ConfigurationError as error:
        messages.append(
            Error(str(error), hint="See `plugit proxy --help`.", id="plugit_proxy.E001")
        )
    unknown = [name for name in settings.PLUGIT_USER_FIELDS if name not in KNOWN_USER_FIELDS]
    if unknown:
        messages.append(
            Error(
                f"Unknown user fields in PLUGIT_USER_FIELDS: {', '.join(unknown)}.",
                hint=f"Choose among {', '.join(sorted(KNOWN_USER_FIELDS))}.",
                id="plugit_proxy.E002",
            )
        )
    if settings.PLUGIT_HONOR_X_FORWARDED_FOR:
        messages.append(
            Warning(
                "X-Forwarded-For is honoured: only safe behind a trusted reverse proxy.",
                id="plugit_proxy.W001",
            )
        )
    return messages

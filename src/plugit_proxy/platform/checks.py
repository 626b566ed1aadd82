"""Start-up checks of the hosted platform's public address (`PLUGIT_PUBLIC_URL`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

__all__ = ["check_public_url"]

HINT = "Set PLUGIT_PUBLIC_URL to the origin browsers use, e.g. https://platform.example.org."


@register("plugit")
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse a malformed public URL; warn when the platform has none."""
    public: str = settings.PLUGIT_PUBLIC_URL
    if not public:
        if settings.PLUGIT_MODE != "platform":
            return []
        return [
            Warning(
                "PLUGIT_PUBLIC_URL is not set: the platform answers on localhost only "
                "(plus PLUGIT_ALLOWED_HOSTS) and builds account links from the request.",
                hint=HINT,
                id="plugit_platform.W001",
            )
        ]
    parts = urlsplit(public)
    if (
        parts.scheme in {"http", "https"}
        and parts.hostname
        and not (parts.path or parts.query or parts.fragment or parts.username)
    ):
        return []
    return [
        Error(
            f"PLUGIT_PUBLIC_URL must be an origin (scheme, host and port only), not {public!r}.",
            hint=HINT,
            id="plugit_platform.E001",
        )
    ]

"""Mail configuration errors as system checks, found at start-up."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from plugit.exceptions import ConfigurationError

from . import tokens
from .conf import mail_settings

__all__ = ["check_mail_settings"]

LONGEST_TOKEN = 13 + tokens.MAC_LENGTH


@register("plugit")
def check_mail_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check that PLUGIT_MAIL_SENDER can carry a reply token."""
    sender = mail_settings().sender
    try:
        local, _ = tokens.split_address(sender)
    except ConfigurationError as error:
        return [Error(str(error), id="plugit_proxy.mail.E001")]
    room = tokens.MAX_LOCAL_PART - len(f"{local}+".encode())
    if room < LONGEST_TOKEN:
        return [
            Error(
                f"PLUGIT_MAIL_SENDER {sender!r}: its local part leaves {room} octets for a reply "
                f"token, which needs up to {LONGEST_TOKEN}.",
                hint=f"Use a local part of at most {tokens.MAX_LOCAL_PART - 1 - LONGEST_TOKEN} "
                "characters, e.g. notifications@.",
                id="plugit_proxy.mail.E002",
            )
        ]
    return []

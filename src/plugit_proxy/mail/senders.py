"""Who a service's mail is from: the platform's address unless the operator allows the sender's.

A service may name any `sender`, but mail From a domain whose SPF and DKIM do not cover the
platform fails DMARC and is spoofing all the same. So unless the sender's domain is in
PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS, the mail is From the platform's address, with the service's
sender as its display name and as Reply-To. When the mail asks for replies (a `response_id`),
Reply-To is the tokenised platform address instead: answers must reach the service, and the
service's address then shows only as the display name.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from .conf import MailSettings

__all__ = ["Headers", "headers_for"]


@dataclass(frozen=True)
class Headers:
    """The From and Reply-To of one mail (Reply-To empty: none)."""

    from_: str
    reply_to: str


def _allowed(address: str, conf: MailSettings) -> bool:
    domain = address.rpartition("@")[2].strip().lower()
    return bool(domain) and domain in conf.allowed_sender_domains


def headers_for(sender: str, conf: MailSettings, *, reply_address: str = "") -> Headers:
    """From and Reply-To for a mail whose service named `sender` (empty: none)."""
    if not sender:
        return Headers(conf.sender, reply_address)
    name, address = parseaddr(sender)
    if _allowed(address, conf):
        return Headers(sender, reply_address)
    return Headers(formataddr((name or address, conf.sender)), reply_address or sender)

"""Read a received reply: its token, whether a robot wrote it, and its text.

Nothing here trusts the mail: a message that cannot be parsed is `UnusableMail`, never an
exception that escapes to the poller or the SMTP endpoint.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses

from plugit.exceptions import PlugItError

from . import tokens
from .text import html_to_text

__all__ = ["Reply", "UnusableMail", "is_auto_reply", "parse_reply"]

AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


class UnusableMail(PlugItError):
    """The mail cannot be delivered; the message says why (for the log and the admin)."""


@dataclass(frozen=True)
class Reply:
    """What delivery needs of a reply."""

    token: str
    text: str
    sender: str
    automatic: bool


def is_auto_reply(message: Message) -> bool:
    """Tell whether a robot sent `message` (RFC 3834, and what Exchange and lists say)."""
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return True
    if message.get("X-Auto-Response-Suppress") is not None:
        return True
    for name in ("Precedence", "X-Precedence"):
        if str(message.get(name, "") or "").strip().lower() in AUTOMATIC_PRECEDENCE:
            return True
    return False


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "").split(";")[0].strip().lower()
    return disposition == "attachment"


def text_of(message: Message) -> str:
    """The first text/plain part, decoded; else the text of the first text/html part."""
    html: Message | None = None
    for part in message.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return _decoded(part).strip()
        if kind == "text/html" and html is None:
            html = part
    if html is None:
        raise UnusableMail("the mail has no text/plain or text/html part")
    return html_to_text(_decoded(html))


def _addresses(message: Message, envelope: Sequence[str]) -> Iterable[str]:
    yield from envelope
    for name in ADDRESS_HEADERS:
        values = [str(value) for value in message.get_all(name, [])]
        for _, address in getaddresses(values):
            yield address


def parse_reply(raw: bytes, *, envelope: Sequence[str], platform_address: str) -> Reply:
    """Parse `raw`; the envelope recipients (if known) are searched first for the token."""
    try:
        message: EmailMessage | Message = email.message_from_bytes(
            raw, policy=email.policy.compat32
        )
        if not message.keys():
            raise UnusableMail("the mail has no headers")
        token = tokens.find_token(_addresses(message, envelope), platform_address)
        sender = str(message.get("From", "") or "")
        if is_auto_reply(message):  # set aside whatever else is wrong with it
            return Reply(token=token or "", text="", sender=sender, automatic=True)
        if token is None:
            raise UnusableMail("no reply token in the recipients")
        return Reply(token=token, text=text_of(message), sender=sender, automatic=False)
    except UnusableMail:
        raise
    except Exception as error:  # a broken mail must never stop the poller
        raise UnusableMail(f"unparsable mail: {type(error).__name__}: {error}") from error

"""`plugit mail poll`: read the platform's mailbox over IMAP or POP3 and deliver the replies.

Blocking (imaplib, poplib) and run in a process or thread of its own, never on an event loop.
A mail leaves the mailbox only once it was delivered (the service said Ok) or set aside (kept
in the database as a rejected reply); otherwise it stays for the next poll.
"""

from __future__ import annotations

import enum
import imaplib
import logging
import poplib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import close_old_connections

from plugit.exceptions import ConfigurationError

from .delivery import Outcome, Result, deliver, set_aside

__all__ = ["Mailbox", "PollReport", "Protocol", "Security", "poll_forever", "poll_once"]

logger = logging.getLogger("plugit_proxy.mail")

Deliver = Callable[..., Result]


class Protocol(enum.Enum):
    IMAP = "imap"
    POP3 = "pop3"


class Security(enum.Enum):
    SSL = "ssl"  # TLS from the first byte (IMAPS 993, POP3S 995)
    STARTTLS = "starttls"  # plain connection upgraded before logging in
    NONE = "none"  # only for a server on the same machine


DEFAULT_PORTS = {
    (Protocol.IMAP, Security.SSL): 993,
    (Protocol.IMAP, Security.STARTTLS): 143,
    (Protocol.IMAP, Security.NONE): 143,
    (Protocol.POP3, Security.SSL): 995,
    (Protocol.POP3, Security.STARTTLS): 110,
    (Protocol.POP3, Security.NONE): 110,
}


@dataclass(frozen=True, kw_only=True)
class Mailbox:
    """Where the platform's mail is read, and how."""

    host: str
    user: str
    password: str = field(repr=False)
    protocol: Protocol = Protocol.IMAP
    security: Security = Security.SSL
    port: int | None = None
    folder: str = "INBOX"
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.host or not self.user:
            raise ConfigurationError(
                "The mailbox needs a host and a user: --host/--user "
                "(PLUGIT_MAIL_POLL_HOST, PLUGIT_MAIL_POLL_USER)."
            )

    @property
    def address(self) -> tuple[str, int]:
        """The server's host and port (the protocol's usual port unless one is given)."""
        return self.host, self.port or DEFAULT_PORTS[self.protocol, self.security]

    @property
    def context(self) -> ssl.SSLContext:
        """The TLS context: the one given, else the system's trusted certificates."""
        return self.ssl_context or ssl.create_default_context()


@dataclass
class PollReport:
    """What one poll did."""

    delivered: int = 0
    set_aside: int = 0
    kept: int = 0


def _handle(raw: bytes, source: str, report: PollReport, deliver_reply: Deliver) -> bool:
    """Deliver one mail; tell whether it may leave the mailbox."""
    result = deliver_reply(raw)
    if result.outcome is Outcome.DELIVERED:
        report.delivered += 1
        return True
    if result.outcome is Outcome.REJECTED:
        try:
            set_aside(raw, source=source, reason=result.reason)
        except Exception:  # keep it in the mailbox rather than lose it
            logger.exception("could not set a rejected reply aside")
            report.kept += 1
            return False
        report.set_aside += 1
        return True
    report.kept += 1
    return False


@contextmanager
def _imap(box: Mailbox) -> Iterator[imaplib.IMAP4]:
    host, port = box.address
    client: imaplib.IMAP4
    if box.security is Security.SSL:
        client = imaplib.IMAP4_SSL(host, port, ssl_context=box.context, timeout=box.timeout)
    else:
        client = imaplib.IMAP4(host, port, timeout=box.timeout)
        if box.security is Security.STARTTLS:
            client.starttls(box.context)
    try:
        client.login(box.user, box.password)
        yield client
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.debug("IMAP logout failed", exc_info=True)


def _poll_imap(box: Mailbox, report: PollReport, deliver_reply: Deliver) -> None:
    with _imap(box) as client:
        status, _ = client.select(box.folder)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open the folder {box.folder!r}")
        _, found = client.uid("SEARCH", "UNDELETED")
        for uid in (found[0] or b"").decode().split():
            _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            if _handle(raw, "imap", report, deliver_reply):
                client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        client.expunge()


def _poll_pop3(box: Mailbox, report: PollReport, deliver_reply: Deliver) -> None:
    host, port = box.address
    client: poplib.POP3
    if box.security is Security.SSL:
        client = poplib.POP3_SSL(host, port, context=box.context, timeout=box.timeout)
    else:
        client = poplib.POP3(host, port, timeout=box.timeout)
        if box.security is Security.STARTTLS:
            client.stls(box.context)
    try:
        client.user(box.user)
        client.pass_(box.password)
        count, _ = client.stat()
        for number in range(1, count + 1):
            _, lines, _ = client.retr(number)
            if _handle(b"\r\n".join(lines) + b"\r\n", "pop3", report, deliver_reply):
                client.dele(number)
    finally:
        client.quit()  # POP3 deletes only on QUIT


def poll_once(box: Mailbox, *, deliver_reply: Deliver = deliver) -> PollReport:
    """Read the mailbox once and deliver what is in it; connection errors raise."""
    report = PollReport()
    try:
        if box.protocol is Protocol.IMAP:
            _poll_imap(box, report, deliver_reply)
        else:
            _poll_pop3(box, report, deliver_reply)
    finally:
        close_old_connections()
    if report.delivered or report.set_aside or report.kept:
        logger.info(
            "mailbox polled: %d delivered, %d set aside, %d kept for later",
            report.delivered,
            report.set_aside,
            report.kept,
        )
    return report


def poll_forever(box: Mailbox, *, interval: float, stop: threading.Event | None = None) -> None:
    """Poll every `interval` seconds until `stop` is set; a failed poll is logged, not fatal."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            poll_once(box)
        except (OSError, imaplib.IMAP4.error, poplib.error_proto) as error:
            logger.warning("polling %s:%s failed: %s", *box.address, error)
        except Exception:
            logger.exception("polling %s:%s failed", *box.address)
        stop.wait(interval)

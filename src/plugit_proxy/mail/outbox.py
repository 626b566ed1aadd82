"""The durable outbox: keep a service's mail, send it over SMTP with retries.

`accept` checks the project's rate and stores a checked mail, `enqueue` stores it (and its
reply route) in one transaction, and `send_due` sends what is due: each message is claimed by a
conditional UPDATE first, sent through Django's mail backend, then marked sent, retried later
with a doubling wait, or failed for good.

One message never holds up the others: a message that cannot be built (control characters
stored before the API refused them, say) or that the server refuses (5xx) fails for good, a
4xx answer or a dropped connection retries that message later, and the pass goes on with a
fresh connection. Only a server that cannot be reached at all ends the pass.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import make_msgid
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import metrics
from . import tokens
from .conf import MailSettings, mail_settings
from .form import MailForm, control_character
from .leases import claim, due
from .models import OutboxMessage, ReplyRoute, backoff
from .quota import check_rate
from .senders import headers_for
from .text import html_to_text

__all__ = ["SendReport", "accept", "enqueue", "send_due", "unsendable"]

logger = logging.getLogger("plugit_proxy.mail")

Status = OutboxMessage.Status


def enqueue(project_key: str, form: MailForm, conf: MailSettings | None = None) -> OutboxMessage:
    """Store `form` in the outbox (and its reply route, if it has a `response_id`)."""
    conf = conf or mail_settings()
    _, domain = tokens.split_address(conf.sender)
    headers = headers_for(form.sender, conf)
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            project_key=project_key,
            sender=headers.from_,
            recipients=list(form.dests),
            subject=form.subject,
            body=form.message,
            html=form.html,
            reply_to=headers.reply_to,
            message_id=make_msgid(domain=domain),
        )
        if form.response_id:
            route = ReplyRoute.objects.create(
                project_key=project_key,
                response_id=form.response_id,
                message=message,
                expires_at=timezone.now() + timedelta(days=conf.reply_days),
            )
            token = tokens.sign(route.pk, project_key)
            address = tokens.reply_address(conf.sender, token)
            message.reply_to = headers_for(form.sender, conf, reply_address=address).reply_to
            message.save(update_fields=["reply_to"])
    return message


def accept(project_key: str, form: MailForm, conf: MailSettings) -> OutboxMessage:
    """Store `form` unless the project is over its rate (a 429 `MailLimitError`)."""
    # Counting outside enqueue's transaction: on SQLite a transaction that reads first
    # cannot wait for the write lock (it fails at once with "database is locked").
    check_rate(project_key, conf)
    return enqueue(project_key, form, conf)


def unsendable(message: OutboxMessage) -> str | None:
    """Why a stored message must never be sent (a control character in a header), or None."""
    fields = {"subject": message.subject, "sender": message.sender, "reply_to": message.reply_to}
    fields |= {f"recipient {n + 1}": value for n, value in enumerate(message.recipients)}
    for name, value in fields.items():
        char = control_character(str(value))
        if char is not None:
            return f"{name}: control character {char}"
    char = control_character(message.body, body=True)
    return None if char is None else f"message: control character {char}"


@dataclass
class SendReport:
    """What one `send_due` pass did."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _email(message: OutboxMessage) -> EmailMessage:
    options: dict[str, Any] = {
        "subject": message.subject,
        "from_email": message.sender,
        "to": message.recipients,
        "reply_to": [message.reply_to] if message.reply_to else None,
        "headers": {"Message-ID": message.message_id},
    }
    if not message.html:
        return EmailMessage(body=message.body, **options)
    email = EmailMultiAlternatives(body=html_to_text(message.body), **options)
    email.attach_alternative(message.body, "text/html")
    return email


def _permanent(error: Exception) -> bool:
    """Whether retrying cannot help: the server refused the mail itself (5xx)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _finish(message: OutboxMessage, values: dict[str, Any]) -> None:
    # Only the claim that is still ours may finish the message.
    OutboxMessage.objects.filter(
        pk=message.pk, status=Status.SENDING, claimed_at=message.claimed_at
    ).update(**values)


class _Pass:
    """One pass over the due messages, sharing one SMTP connection while it works."""

    def __init__(self, conf: MailSettings, backend: str | None) -> None:
        self.conf, self.backend = conf, backend
        self.report = SendReport()
        self.connection: Any = None

    def send(self, message: OutboxMessage) -> bool:
        """Send (or fail, or postpone) one claimed message; False: stop the pass."""
        problem = unsendable(message)
        try:
            email = _email(message)
            email.message().as_bytes()  # any header that cannot be written fails here
        except Exception as error:
            problem = problem or f"cannot be written: {type(error).__name__}: {error}"
        if problem is not None:
            self.fail(message, problem)
            return True
        if self.connection is None:
            try:
                self.connection = get_connection(self.backend, fail_silently=False)
                self.connection.open()
            except Exception as error:  # the server is away: the others would fail too
                self.connection = None
                self.retry(message, error)
                return False
        try:
            self.connection.send_messages([email])
        except Exception as error:
            self.close()  # the server may have dropped it: the next message starts afresh
            if _permanent(error):
                self.fail(message, _text(error))
            else:
                self.retry(message, error)
            return True
        _finish(message, {"status": Status.SENT, "sent_at": timezone.now(), "last_error": ""})
        self.report.sent.append(message.pk)
        logger.info("mail %s sent to %d recipients", message.pk, len(message.recipients))
        return True

    def fail(self, message: OutboxMessage, problem: str) -> None:
        """Mark `message` failed for good."""
        _finish(message, {"status": Status.FAILED, "last_error": problem[:2000]})
        self.report.failed.append(message.pk)
        metrics.mail_failed(given_up=True)
        logger.error(
            "mail %s failed for good after %d tries: %s", message.pk, message.attempts, problem
        )

    def retry(self, message: OutboxMessage, error: Exception) -> None:
        """Try `message` again later (or fail it, after too many tries)."""
        if message.attempts >= self.conf.max_attempts:
            self.fail(message, _text(error))
            return
        wait = backoff(message.attempts, base=self.conf.retry_base, cap=self.conf.retry_cap)
        later = timezone.now() + wait
        _finish(
            message, {"status": Status.QUEUED, "next_attempt_at": later, "last_error": _text(error)}
        )
        self.report.retried.append(message.pk)
        metrics.mail_failed(given_up=False)
        logger.warning(
            "mail %s not sent (try %d), retrying in %s: %s",
            message.pk,
            message.attempts,
            wait,
            _text(error),
        )

    def close(self) -> None:
        """Close the connection, if any."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.close()
        except Exception:  # a broken connection: nothing left to close
            logger.debug("closing the SMTP connection failed", exc_info=True)


def _text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _due(conf: MailSettings) -> Q:
    return due(Status.QUEUED, Status.SENDING, conf.lease, timezone.now())


def send_due(*, conf: MailSettings | None = None, backend: str | None = None) -> SendReport:
    """Send every message that is due (at most a batch); never raise for a send failure."""
    conf = conf or mail_settings()
    waiting = OutboxMessage.objects.filter(_due(conf)).order_by("next_attempt_at", "pk")
    work = _Pass(conf, backend)
    try:
        for pk in list(waiting.values_list("pk", flat=True)[: conf.batch]):
            message = claim(
                OutboxMessage, pk, waiting=Status.QUEUED, working=Status.SENDING, lease=conf.lease
            )
            if message is not None and not work.send(message):  # None: another worker has it
                break
    finally:
        work.close()
    return work.report

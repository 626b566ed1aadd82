"""The durable outbox: take a service's mail, keep it, send it over SMTP with retries.

`read_form` checks the API's fields, `enqueue` stores the mail (and its reply route) in one
transaction, and `send_due` sends what is due: each message is claimed by a conditional UPDATE
first, sent through Django's mail backend, then marked sent, retried later with a doubling
wait, or failed for good (an SMTP 5xx answer, or too many tries).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import getaddresses, make_msgid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from . import tokens
from .conf import MailSettings, mail_settings
from .leases import claim, due
from .models import OutboxMessage, ReplyRoute, backoff
from .text import html_to_text

__all__ = ["MailForm", "MailFormError", "SendReport", "enqueue", "read_form", "send_due"]

logger = logging.getLogger("plugit_proxy.mail")

BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
BOOLEANS |= {"false": False, "0": False, "no": False, "off": False, "": False}
MAX_RESPONSE_ID = 255
Status = OutboxMessage.Status


class MailFormError(ValueError):
    """A field of `POST mail/` is missing or wrong; `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True, kw_only=True)
class MailForm:
    """A checked `POST mail/` request."""

    sender: str
    subject: str
    message: str
    dests: tuple[str, ...]
    html: bool = False
    response_id: str = ""


def _address(field_name: str, value: str) -> str:
    pairs = getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise MailFormError(field_name, f"{value!r} is not one e-mail address")
    try:
        validate_email(pairs[0][1])
    except ValidationError:
        raise MailFormError(field_name, f"{value!r} is not a valid e-mail address") from None
    if any(char in value for char in "\r\n"):
        raise MailFormError(field_name, "line breaks are not allowed in an address")
    return value.strip()


def read_form(form: MultiValueDict[str, str], *, default_sender: str) -> MailForm:
    """Check the fields of `POST mail/`; raise `MailFormError` naming the first bad one."""
    subject, message = form.get("subject"), form.get("message")
    if subject is None:
        raise MailFormError("subject", "the field is required")
    if "\n" in subject or "\r" in subject:
        raise MailFormError("subject", "line breaks are not allowed in the subject")
    if message is None:
        raise MailFormError("message", "the field is required")
    dests = [dest for dest in form.getlist("dests") if dest.strip()]
    if not dests:
        raise MailFormError("dests", "give at least one recipient")
    html = BOOLEANS.get((form.get("html_message") or "").strip().lower())
    if html is None:
        raise MailFormError("html_message", "say True or False")
    response_id = form.get("response_id") or ""
    if len(response_id) > MAX_RESPONSE_ID:
        raise MailFormError("response_id", f"at most {MAX_RESPONSE_ID} characters")
    sender = (form.get("sender") or "").strip()
    return MailForm(
        sender=_address("sender", sender) if sender else default_sender,
        subject=subject,
        message=message,
        dests=tuple(_address("dests", dest) for dest in dests),
        html=html,
        response_id=response_id,
    )


def enqueue(project_key: str, form: MailForm, conf: MailSettings | None = None) -> OutboxMessage:
    """Store `form` in the outbox (and its reply route, if it has a `response_id`)."""
    conf = conf or mail_settings()
    _, domain = tokens.split_address(conf.sender)
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            project_key=project_key,
            sender=form.sender,
            recipients=list(form.dests),
            subject=form.subject,
            body=form.message,
            html=form.html,
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
            message.reply_to = tokens.reply_address(conf.sender, token)
            message.save(update_fields=["reply_to"])
    return message


@dataclass
class SendReport:
    """What one `send_due` pass did."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _due(conf: MailSettings) -> Q:
    return due(Status.QUEUED, Status.SENDING, conf.lease, timezone.now())


def _claim(pk: int, conf: MailSettings) -> OutboxMessage | None:
    return claim(OutboxMessage, pk, waiting=Status.QUEUED, working=Status.SENDING, lease=conf.lease)


def _email(message: OutboxMessage, connection: Any) -> EmailMessage:
    options: dict[str, Any] = {
        "subject": message.subject,
        "from_email": message.sender,
        "to": message.recipients,
        "reply_to": [message.reply_to] if message.reply_to else None,
        "headers": {"Message-ID": message.message_id},
        "connection": connection,
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
    return isinstance(error, ValueError | UnicodeError)


def _finish(message: OutboxMessage, values: dict[str, Any]) -> None:
    # Only the claim that is still ours may finish the message.
    OutboxMessage.objects.filter(
        pk=message.pk, status=Status.SENDING, claimed_at=message.claimed_at
    ).update(**values)


def _failed(message: OutboxMessage, error: Exception, conf: MailSettings) -> str:
    text = f"{type(error).__name__}: {error}"[:2000]
    if _permanent(error) or message.attempts >= conf.max_attempts:
        _finish(message, {"status": Status.FAILED, "last_error": text})
        logger.error(
            "mail %s failed for good after %d tries: %s", message.pk, message.attempts, text
        )
        return "failed"
    wait = backoff(message.attempts, base=conf.retry_base, cap=conf.retry_cap)
    _finish(
        message,
        {"status": Status.QUEUED, "next_attempt_at": timezone.now() + wait, "last_error": text},
    )
    logger.warning(
        "mail %s not sent (try %d), retrying in %s: %s", message.pk, message.attempts, wait, text
    )
    return "retried"


def send_due(*, conf: MailSettings | None = None, backend: str | None = None) -> SendReport:
    """Send every message that is due (at most a batch); never raise for a send failure."""
    conf = conf or mail_settings()
    report = SendReport()
    due = OutboxMessage.objects.filter(_due(conf)).order_by("next_attempt_at", "pk")
    connection: Any = None
    try:
        for pk in list(due.values_list("pk", flat=True)[: conf.batch]):
            message = _claim(pk, conf)
            if message is None:  # another worker took it
                continue
            connection = connection or get_connection(backend, fail_silently=False)
            try:
                _email(message, connection).send()
            except Exception as error:
                outcome = _failed(message, error, conf)
                getattr(report, outcome).append(message.pk)
                if not _permanent(error):  # the server is down or unwell: stop for now
                    break
                continue
            _finish(message, {"status": Status.SENT, "sent_at": timezone.now(), "last_error": ""})
            report.sent.append(message.pk)
            logger.info("mail %s sent to %d recipients", message.pk, len(message.recipients))
    finally:
        _close(connection)
    return report


def _close(connection: Any) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except Exception:  # a broken connection: nothing left to close
        logger.debug("closing the SMTP connection failed", exc_info=True)

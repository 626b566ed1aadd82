"""Make real replies: send a mail through the outbox, answer its Reply-To."""

from __future__ import annotations

from email.message import EmailMessage

from plugit_proxy.mail.form import MailForm
from plugit_proxy.mail.outbox import enqueue, send_due

from .conftest import PROJECT, SmtpServer


def reply_address(smtp: SmtpServer, response_id: str) -> str:
    """Send a mail asking for replies (over real SMTP); give its Reply-To."""
    form = MailForm(
        sender="service@example.org",
        subject="Your vote?",
        message="Reply to this mail.",
        dests=("user@example.com",),
        response_id=response_id,
    )
    message = enqueue(PROJECT, form)
    assert send_due().sent == [message.pk]
    return str(smtp.mails[-1][1]["Reply-To"])


def reply(to: str, text: str, **headers: str) -> EmailMessage:
    """A user's answer to `to`."""
    message = EmailMessage()
    message["From"] = "User <user@example.com>"
    message["To"] = to
    message["Subject"] = "Re: Your vote?"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def forge(address: str) -> str:
    """The same address with the token's last character changed."""
    local, _, domain = address.partition("@")
    return f"{local[:-1]}{'a' if local[-1] != 'a' else 'b'}@{domain}"

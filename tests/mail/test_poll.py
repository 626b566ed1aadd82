"""`plugit mail poll`: replies held by a real Dovecot, read over IMAP and POP3 with TLS."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from plugit_proxy.mail.models import InboundReply
from plugit_proxy.mail.poller import Mailbox, Protocol, Security, poll_once

from .conftest import Mailbag, SmtpServer
from .dovecot import PASSWORD, USER
from .replies import forge, reply, reply_address

Service = tuple[str, Mailbag]

LATIN1_MULTIPART = """From: =?iso-8859-1?q?Ren=E9?= <user@example.com>
To: {to}
Subject: Re: Your vote?
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

D=E9j=E0 vot=E9, merci.
--inner
Content-Type: text/html; charset=iso-8859-1

<p>D&eacute;j&agrave; vot&eacute;</p>
--inner--
--outer
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

not the message
--outer--
"""


def mailbox(dovecot: Any, protocol: Protocol, security: Security) -> Mailbox:
    name = protocol.value + ("s" if security is Security.SSL else "")
    return Mailbox(
        host="127.0.0.1",
        port=dovecot.ports[name],
        user=USER,
        password=PASSWORD,
        protocol=protocol,
        security=security,
        ssl_context=dovecot.context,
        timeout=10,
    )


@pytest.mark.parametrize(
    ("protocol", "security"),
    [
        (Protocol.IMAP, Security.STARTTLS),
        (Protocol.IMAP, Security.SSL),
        (Protocol.POP3, Security.SSL),
        (Protocol.POP3, Security.STARTTLS),
    ],
    ids=lambda value: value.value,
)
def test_a_multipart_latin1_reply_reaches_the_service_and_leaves_the_mailbox(
    smtp: SmtpServer, service: Service, dovecot: Any, protocol: Protocol, security: Security
) -> None:
    address = reply_address(smtp, "poll-7")
    dovecot.append(LATIN1_MULTIPART.format(to=address).encode("latin-1"))
    report = poll_once(mailbox(dovecot, protocol, security))
    assert (report.delivered, report.set_aside, report.kept) == (1, 0, 0)
    assert service[1].received == [{"response_id": "poll-7", "message": "Déjà voté, merci."}]
    assert dovecot.count() == 0


def test_forged_auto_foreign_and_broken_mail_is_set_aside_never_delivered(
    smtp: SmtpServer, service: Service, dovecot: Any
) -> None:
    address = reply_address(smtp, "poll-7")
    dovecot.append(reply(forge(address), "Let me in.").as_bytes())
    dovecot.append(reply(address, "Away.", Auto_Submitted="auto-replied").as_bytes())
    dovecot.append(reply(address, "Away.", Precedence="bulk").as_bytes())
    dovecot.append(b"Subject: no recipients, no body\r\n\r\n")
    stranger = reply(address, "Me too.")
    stranger.replace_header("From", "mallory@example.net")
    dovecot.append(stranger.as_bytes())
    report = poll_once(mailbox(dovecot, Protocol.IMAP, Security.SSL))
    assert (report.delivered, report.set_aside, report.kept) == (0, 5, 0)
    assert service[1].received == []
    assert dovecot.count() == 0
    reasons = sorted(r.last_error.split(" ")[0] for r in InboundReply.objects.all())
    assert reasons == ["auto-reply", "auto-reply", "forged", "no", "reply"]
    assert {r.status for r in InboundReply.objects.all()} == {InboundReply.Status.REJECTED}


def test_a_reply_stays_in_the_mailbox_until_the_service_says_ok(
    smtp: SmtpServer, service: Service, dovecot: Any
) -> None:
    address = reply_address(smtp, "poll-8")
    dovecot.append(reply(address, "Second try.").as_bytes())
    box = mailbox(dovecot, Protocol.IMAP, Security.STARTTLS)
    service[1].failures = 1
    assert poll_once(box).kept == 1
    assert dovecot.count() == 1
    assert poll_once(box).delivered == 1
    assert dovecot.count() == 0
    assert service[1].received == [{"response_id": "poll-8", "message": "Second try."}]


def test_the_command_polls_once(smtp: SmtpServer, service: Service, dovecot: Any) -> None:
    address = reply_address(smtp, "poll-9")
    dovecot.append(reply(address, "From the command line.").as_bytes())
    command = [sys.executable, "-m", "plugit", "mail", "poll", "--once", "--protocol", "pop3"]
    command += ["--host", "127.0.0.1", "--port", str(dovecot.ports["pop3s"]), "--ssl"]
    command += ["--user", USER, "--cafile", str(dovecot.root / "cert.pem")]
    env = {**os.environ, "PLUGIT_MAIL_POLL_PASSWORD": PASSWORD}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "delivered 1" in done.stdout
    assert service[1].received == [{"response_id": "poll-9", "message": "From the command line."}]
    assert dovecot.count() == 0

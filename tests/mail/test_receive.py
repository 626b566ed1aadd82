"""`plugit mail receive`: replies over real SMTP/LMTP, stored, delivered to the service."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from plugit_proxy.mail import tokens
from plugit_proxy.mail.models import InboundReply, ReplyRoute
from plugit_proxy.platform.models import ProjectService

from .conftest import (
    PLATFORM_ADDRESS,
    PROJECT,
    Mailbag,
    ReceiverThread,
    SmtpServer,
    smtp_send,
    wait_for,
)
from .replies import forge, reply, reply_address

Status = InboundReply.Status
Service = tuple[str, Mailbag]
StartReceiver = Callable[..., ReceiverThread]


def settled() -> list[InboundReply]:
    replies = list(InboundReply.objects.all())
    busy = {Status.PENDING, Status.DELIVERING}
    return replies if replies and all(r.status not in busy for r in replies) else []


@pytest.mark.parametrize("lmtp", [False, True], ids=["smtp", "lmtp"])
def test_a_reply_reaches_the_service(
    smtp: SmtpServer, service: Service, receiver: StartReceiver, lmtp: bool
) -> None:
    address = reply_address(smtp, "poll-7")
    server = receiver(lmtp=lmtp)
    smtp_send(server.port, reply(address, "I vote yes."), to=address, lmtp=lmtp)
    bag = service[1]
    wait_for(lambda: bag.received)
    assert bag.received == [{"response_id": "poll-7", "message": "I vote yes."}]
    [stored] = wait_for(settled)
    assert stored.status == Status.DELIVERED
    assert ReplyRoute.objects.get().replies == 1


def codes(error: smtplib.SMTPException) -> list[int]:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return [code for code, _ in error.recipients.values()]
    assert isinstance(error, smtplib.SMTPResponseException)
    return [error.smtp_code]


def test_a_forged_token_is_refused_at_rcpt(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    forged = forge(reply_address(smtp, "poll-7"))
    server = receiver()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as raised:
        smtp_send(server.port, reply(forged, "Let me in."), to=forged)
    assert codes(raised.value) == [550]
    assert InboundReply.objects.count() == 0
    assert service[1].received == []


def test_an_unknown_token_is_refused_at_rcpt(receiver: StartReceiver) -> None:
    unknown = tokens.reply_address(PLATFORM_ADDRESS, tokens.sign(424242, PROJECT))
    malformed = "notifications+not-a-token@example.org"
    server = receiver()
    for address in (unknown, malformed):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as raised:
            smtp_send(server.port, reply(address, "Anyone there?"), to=address)
        assert codes(raised.value) == [550]
    assert InboundReply.objects.count() == 0


def test_an_expired_token_is_refused_at_rcpt(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-7")
    ReplyRoute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(smtplib.SMTPRecipientsRefused) as raised:
        smtp_send(receiver().port, reply(address, "Too late."), to=address)
    assert codes(raised.value) == [550]
    assert (InboundReply.objects.count(), service[1].received) == (0, [])


def test_an_oversized_reply_is_refused_and_not_stored(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-7")
    server = receiver()
    big = reply(address, "x" * (3 * 1024 * 1024))  # over the 2 MiB default
    with pytest.raises(smtplib.SMTPException) as raised:
        smtp_send(server.port, big, to=address)
    assert codes(raised.value) == [552]
    with override_settings(PLUGIT_MAIL_RECEIVE_MAX_SIZE=10_000):
        with pytest.raises(smtplib.SMTPException) as raised:
            smtp_send(server.port, reply(address, "y" * 20_000), to=address)
        assert codes(raised.value) == [552]
    assert InboundReply.objects.count() == 0
    assert service[1].received == []


def test_a_reply_from_someone_the_mail_was_not_sent_to_is_set_aside(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-7")  # sent to user@example.com
    stolen = reply(address, "I vote for Mallory.")
    stolen.replace_header("From", "Mallory <mallory@example.net>")
    server = receiver()
    smtp_send(server.port, stolen, to=address)
    [stored] = wait_for(settled)
    assert stored.status == Status.REJECTED
    assert "mallory@example.net" in stored.last_error
    assert "was not sent" in stored.last_error
    assert service[1].received == []
    shouting = reply(address, "I vote yes.")
    shouting.replace_header("From", "User <USER@Example.COM>")  # the same person
    smtp_send(server.port, shouting, to=address)
    wait_for(lambda: service[1].received)
    assert service[1].received == [{"response_id": "poll-7", "message": "I vote yes."}]


def test_the_worker_purges_old_finished_replies(tmp_path: Path) -> None:
    old = timezone.now() - timedelta(days=31)
    kept_statuses = [Status.PENDING, Status.DELIVERING]
    for status in [Status.DELIVERED, Status.FAILED, Status.REJECTED, *kept_statuses]:
        InboundReply.objects.create(source="smtp", raw=b"x", status=status)
    InboundReply.objects.update(created=old)
    recent = InboundReply.objects.create(source="smtp", raw=b"x", status=Status.DELIVERED)
    command = [sys.executable, "-m", "plugit", "mail", "worker", "--once"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    left = InboundReply.objects.order_by("pk")
    assert [reply.status for reply in left] == [*kept_statuses, Status.DELIVERED]
    assert left.last() == recent


def test_an_auto_reply_is_set_aside(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-7")
    away = reply(address, "I am on holiday.", Auto_Submitted="auto-replied")
    smtp_send(receiver().port, away, to=address)
    [stored] = wait_for(settled)
    assert stored.status == Status.REJECTED
    assert "auto-reply" in stored.last_error
    assert service[1].received == []


def test_strangers_are_refused_at_rcpt(receiver: StartReceiver) -> None:
    server = receiver()
    for stranger in ("notifications@example.org", "postmaster@example.org", "x+y@other.org"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as raised:
            smtp_send(server.port, reply(stranger, "Hi"), to=stranger)
        assert codes(raised.value) == [550]
    assert InboundReply.objects.count() == 0


def test_a_service_that_fails_then_succeeds_gets_the_reply_once(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-8")
    bag = service[1]
    bag.failures = 2
    smtp_send(receiver().port, reply(address, "Third time lucky."), to=address)
    [stored] = wait_for(settled)
    assert (stored.status, stored.attempts) == (Status.DELIVERED, 3)
    assert bag.received == [{"response_id": "poll-8", "message": "Third time lucky."}]


def test_an_accepted_reply_survives_a_restart_of_the_receiver(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-9")
    ProjectService.objects.all().delete()  # the project has no service for now
    first = receiver()
    smtp_send(first.port, reply(address, "Keep this."), to=address)
    wait_for(lambda: InboundReply.objects.filter(attempts__gte=1).exists())
    first.stop()
    stored = InboundReply.objects.get()
    assert stored.status == Status.PENDING
    assert "no service" in stored.last_error
    from plugit_proxy.platform.models import Project

    ProjectService.objects.create(project=Project.objects.get(), url=service[0])
    receiver()
    wait_for(settled)
    assert service[1].received == [{"response_id": "poll-9", "message": "Keep this."}]

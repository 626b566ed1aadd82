"""`plugit mail receive`: replies over real SMTP/LMTP, stored, delivered to the service."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from plugit_proxy.mail.models import InboundReply, ReplyRoute
from plugit_proxy.platform.models import ProjectService

from .conftest import Mailbag, ReceiverThread, SmtpServer, smtp_send, wait_for
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


def test_a_forged_token_is_set_aside(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    forged = forge(reply_address(smtp, "poll-7"))
    server = receiver()
    smtp_send(server.port, reply(forged, "Let me in."), to=forged)
    [stored] = wait_for(settled)
    assert stored.status == Status.REJECTED
    assert "forged" in stored.last_error
    assert service[1].received == []


def test_an_expired_token_is_set_aside(
    smtp: SmtpServer, service: Service, receiver: StartReceiver
) -> None:
    address = reply_address(smtp, "poll-7")
    ReplyRoute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    smtp_send(receiver().port, reply(address, "Too late."), to=address)
    [stored] = wait_for(settled)
    assert (stored.status, service[1].received) == (Status.REJECTED, [])
    assert "expired" in stored.last_error


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
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp_send(server.port, reply(stranger, "Hi"), to=stranger)
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

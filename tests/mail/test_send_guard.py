"""`POST mail/` over a real socket refuses what would break or abuse the outbox: control
characters, spoofed senders, too many recipients or mails, oversized messages.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from typing import Any

import httpx
import pytest
from django.test import override_settings

from plugit_proxy.mail.models import OutboxMessage

from .conftest import PLATFORM_ADDRESS, SmtpServer, wait_for

TOKEN_ADDRESS = re.compile(r"^notifications\+[0-9a-z]+@example\.org$")
FORM: dict[str, Any] = {
    "sender": "Poll service <service@example.org>",
    "subject": "Poll closed",
    "message": "The results are in.",
    "dests": ["a@example.org"],
    "html_message": "False",
}


def post(proxy: str, **changes: Any) -> httpx.Response:
    return httpx.post(proxy + "mail/", data=FORM | changes, timeout=30)


def sent(smtp: SmtpServer) -> Any:
    return wait_for(lambda: smtp.mails and smtp.mails[-1][1])


def from_of(mail: Any) -> Address:
    [address] = mail["From"].addresses
    return address


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Poll\x00closed"),
        ("subject", "Poll\x0bBcc: victim@example.org"),
        ("subject", "Poll\x1cclosed"),
        ("subject", "Poll\x85closed"),
        ("subject", "Poll\u2028closed"),
        ("sender", "Poll\x00service <service@example.org>"),
        ("sender", "Poll\x1fservice <service@example.org>"),
        ("dests", "A\x07 <a@example.org>"),
        ("response_id", "poll\x00"),
        ("message", "The results\x00are in."),
    ],
)
def test_control_characters_are_refused_naming_the_field(
    proxy: str, field: str, value: str
) -> None:
    answer = post(proxy, **{field: value})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["field"] == field
    assert "control characters" in answer.json()["error"]
    assert OutboxMessage.objects.count() == 0


def test_mail_is_from_the_platform_with_the_service_as_name_and_reply_to(
    smtp: SmtpServer, proxy: str
) -> None:
    assert post(proxy).status_code == 200
    mail = sent(smtp)
    sender = from_of(mail)
    assert (sender.display_name, sender.addr_spec) == ("Poll service", PLATFORM_ADDRESS)
    assert str(mail["Reply-To"]) == "Poll service <service@example.org>"


def test_a_bare_sender_address_becomes_the_display_name(smtp: SmtpServer, proxy: str) -> None:
    assert post(proxy, sender="service@example.org").status_code == 200
    sender = from_of(sent(smtp))
    assert (sender.display_name, sender.addr_spec) == ("service@example.org", PLATFORM_ADDRESS)


def test_a_non_ascii_display_name_survives(smtp: SmtpServer, proxy: str) -> None:
    assert post(proxy, sender='"Zoë, sondages" <service@example.org>').status_code == 200
    mail = sent(smtp)
    assert from_of(mail).display_name == "Zoë, sondages"
    assert from_of(mail).addr_spec == PLATFORM_ADDRESS
    [reply_to] = mail["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == ("Zoë, sondages", "service@example.org")


def test_with_a_response_id_reply_to_is_the_token_and_the_service_the_name(
    smtp: SmtpServer, proxy: str
) -> None:
    assert post(proxy, response_id="poll-7").status_code == 200
    mail = sent(smtp)
    assert from_of(mail).addr_spec == PLATFORM_ADDRESS
    assert from_of(mail).display_name == "Poll service"
    assert TOKEN_ADDRESS.match(str(mail["Reply-To"]))


def test_an_allowed_sender_domain_sends_from_the_sender(smtp: SmtpServer, proxy: str) -> None:
    with override_settings(PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS="other.org, Example.ORG"):
        assert post(proxy).status_code == 200
        mail = sent(smtp)
    assert from_of(mail).addr_spec == "service@example.org"
    assert mail["Reply-To"] is None


def test_recipients_per_mail_are_capped(proxy: str) -> None:
    dests = [f"user{n}@example.org" for n in range(51)]
    answer = post(proxy, dests=dests)
    assert answer.status_code == 400
    assert answer.json()["limit"] == "PLUGIT_MAIL_MAX_RECIPIENTS"
    assert answer.json()["field"] == "dests"
    with override_settings(PLUGIT_MAIL_MAX_RECIPIENTS=2):
        assert post(proxy, dests=dests[:2]).status_code == 200
        assert post(proxy, dests=dests[:3]).status_code == 400
    assert OutboxMessage.objects.count() == 1


def test_mails_per_project_per_minute_are_capped(proxy: str) -> None:
    with override_settings(PLUGIT_MAIL_MAX_PER_MINUTE=3):
        assert [post(proxy).status_code for _ in range(3)] == [200, 200, 200]
        answer = post(proxy)
    assert answer.status_code == 429
    assert answer.json()["limit"] == "PLUGIT_MAIL_MAX_PER_MINUTE"
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert OutboxMessage.objects.count() == 3


def test_the_default_rate_is_a_sane_one(proxy: str) -> None:
    codes = [post(proxy).status_code for _ in range(61)]
    assert codes == [200] * 60 + [429]


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024], ids=["field", "request"])
def test_an_oversized_message_is_a_413_json_error(proxy: str, size: int) -> None:
    answer = post(proxy, message="x" * size)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["limit"] == "PLUGIT_MAIL_MAX_MESSAGE_SIZE"
    assert OutboxMessage.objects.count() == 0

"""Sending: `POST mail/` checks and queues; the outbox sends over real SMTP, durably."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import override_settings
from django.utils.datastructures import MultiValueDict

from plugit_proxy.mail.conf import mail_settings
from plugit_proxy.mail.form import MailForm, MailFormError, read_form
from plugit_proxy.mail.models import OutboxMessage, ReplyRoute, backoff
from plugit_proxy.mail.outbox import enqueue, send_due

from .conftest import PLATFORM_ADDRESS, PROJECT, Mailbag, SmtpServer, wait_for

REPLY_TO = re.compile(r"^notifications\+([0-9a-z]+)@example\.org$")
FORM = {
    "sender": "service@example.org",
    "subject": "Poll closed",
    "message": "The results are in.",
    "dests": ["a@example.org", "b@example.org"],
    "html_message": "False",
}


def queue(**changes: Any) -> OutboxMessage:
    fields = {"sender": "service@example.org", "subject": "Hi", "message": "Body"}
    fields |= {"dests": ("a@example.org",)} | changes
    return enqueue(PROJECT, MailForm(**fields))


def status_of(message: OutboxMessage) -> str:
    message.refresh_from_db()
    return message.status


def test_api_queues_then_the_platform_sends_html_with_a_reply_token(
    smtp: SmtpServer, proxy: str
) -> None:
    form = FORM | {"message": "<p>Results &amp; more</p>", "html_message": "TRUE"}
    answer = httpx.post(proxy + "mail/", data=form | {"response_id": "poll-7"})
    assert answer.status_code == 200
    assert answer.json() == {}
    envelope, mail = wait_for(lambda: smtp.mails and smtp.mails[0])
    assert sorted(envelope.rcpt_tos) == ["a@example.org", "b@example.org"]
    assert mail["From"] == f'"service@example.org" <{PLATFORM_ADDRESS}>'
    assert mail["Subject"] == "Poll closed"
    reply_to = str(mail["Reply-To"])
    assert REPLY_TO.match(reply_to)
    assert len(reply_to.partition("@")[0]) <= 64
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert "Results & more" in text.get_content()
    assert html is not None
    assert "<p>Results &amp; more</p>" in html.get_content()
    [message] = OutboxMessage.objects.all()
    wait_for(lambda: status_of(message) == OutboxMessage.Status.SENT)
    assert mail["Message-ID"] == message.message_id
    route = ReplyRoute.objects.get()
    assert (route.project_key, route.response_id, route.message_id) == (
        PROJECT,
        "poll-7",
        message.pk,
    )
    assert "poll-7" not in reply_to  # the response_id stays on the platform


def test_without_sender_or_response_id_the_platform_address_is_used(
    smtp: SmtpServer, proxy: str
) -> None:
    form = FORM | {"sender": "", "html_message": "false"}
    assert httpx.post(proxy + "mail/", data=form).status_code == 200
    _, mail = wait_for(lambda: smtp.mails and smtp.mails[0])
    assert mail["From"] == PLATFORM_ADDRESS
    assert mail["Reply-To"] is None
    assert mail.get_content_type() == "text/plain"
    assert ReplyRoute.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dests": []}, "dests"),
        ({"dests": ["not an address"]}, "dests"),
        ({"subject": None}, "subject"),
        ({"subject": "Hi\r\nBcc: x@example.org"}, "subject"),
        ({"message": None}, "message"),
        ({"html_message": "maybe"}, "html_message"),
        ({"sender": "nobody"}, "sender"),
        ({"response_id": "x" * 300}, "response_id"),
    ],
)
def test_api_names_the_bad_field(proxy: str, change: dict[str, Any], field: str) -> None:
    form = {key: value for key, value in (FORM | change).items() if value is not None}
    answer = httpx.post(proxy + "mail/", data=form)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert field in answer.json()["error"]
    assert OutboxMessage.objects.count() == 0


def test_html_message_is_true_or_false_in_any_case() -> None:
    def html(value: str) -> bool:
        data = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in FORM.items()})
        data["html_message"] = value
        return read_form(data, mail_settings()).html

    assert [html(v) for v in ("True", "TRUE", "true", "False", "FALSE", "")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(MailFormError):
        html("Truthy")


def test_an_unsendable_message_never_delays_the_others(smtp: SmtpServer) -> None:
    bad = queue(subject="Poll\x00closed")  # queued before the API refused control characters
    good = [queue(subject=f"fine {n}") for n in range(2)]
    report = send_due()
    assert (report.failed, report.sent) == ([bad.pk], [m.pk for m in good])
    assert sorted(str(mail["Subject"]) for _, mail in smtp.mails) == ["fine 0", "fine 1"]
    bad.refresh_from_db()
    assert bad.status == OutboxMessage.Status.FAILED
    assert "control character U+0000" in bad.last_error


def test_a_server_hanging_up_on_one_message_does_not_stall_the_others(smtp: SmtpServer) -> None:
    smtp.sink.hang_up_on = "poison"
    bad = queue(subject="poison")
    good = [queue(subject=f"fine {n}") for n in range(2)]
    report = send_due()
    assert (report.failed, report.sent) == ([bad.pk], [m.pk for m in good])
    assert "554" in OutboxMessage.objects.get(pk=bad.pk).last_error


def test_a_greylisted_message_waits_while_the_others_go(smtp: SmtpServer) -> None:
    smtp.sink.greylist = {"slow@example.org"}
    later = queue(dests=("slow@example.org",))
    good = [queue(subject=f"fine {n}") for n in range(2)]
    report = send_due()
    assert (report.retried, report.sent) == ([later.pk], [m.pk for m in good])
    assert status_of(later) == OutboxMessage.Status.QUEUED


def test_smtp_down_then_up_loses_nothing() -> None:
    server = SmtpServer()  # not started: connections are refused
    with server.settings(), override_settings(PLUGIT_MAIL_RETRY_BASE=0.05):
        message = queue()
        report = send_due()
        assert report.retried == [message.pk]
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxMessage.Status.QUEUED, 1)
        assert "Connection" in message.last_error
        server.start()
        try:
            wait_for(lambda: send_due().sent == [message.pk])
            assert send_due().sent == []
        finally:
            server.stop()
    assert [envelope.rcpt_tos for envelope, _ in server.mails] == [["a@example.org"]]
    assert status_of(message) == OutboxMessage.Status.SENT


def test_failed_for_good_after_a_bounded_number_of_tries() -> None:
    server = SmtpServer()
    with server.settings(), override_settings(PLUGIT_MAIL_RETRY_BASE=0, PLUGIT_MAIL_MAX_ATTEMPTS=3):
        message = queue()
        for _ in range(3):
            send_due()
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, 3)
        server.start()
        try:
            assert send_due().sent == []
        finally:
            server.stop()
    assert server.mails == []


def test_a_refused_mail_fails_at_once(smtp: SmtpServer) -> None:
    smtp.sink.refuse = True
    message = queue()
    assert send_due().failed == [message.pk]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, 1)
    assert "550" in message.last_error


def test_two_workers_never_send_one_message_twice(smtp: SmtpServer) -> None:
    messages = [queue(subject=f"mail {n}") for n in range(12)]
    workers = [threading.Thread(target=send_due) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    wait_for(lambda: send_due() and len(smtp.mails) >= len(messages))
    subjects = sorted(str(mail["Subject"]) for _, mail in smtp.mails)
    assert subjects == sorted(f"mail {n}" for n in range(12))


def test_retry_waits_stay_within_two_minutes() -> None:
    conf = mail_settings()
    waits = [backoff(n, base=conf.retry_base, cap=conf.retry_cap) for n in range(1, 30)]
    assert waits[0] == timedelta(seconds=conf.retry_base)
    assert max(waits) + timedelta(seconds=10) <= timedelta(minutes=2)  # + the worker interval


def test_a_restart_between_accept_and_send_loses_nothing(
    service: tuple[str, Mailbag],
    tmp_path: Path,
    spawn_server: Callable[..., Any],
    free_port: Callable[[], int],
) -> None:
    """Accept with SMTP down, kill the proxy hard, start it again: the mail goes out."""
    smtp = SmtpServer()
    port = free_port()
    argv = ["python", "-m", "plugit_proxy", "--service", service[0], "--port", str(port)]
    argv += ["--workers", "1", "--data-dir", str(tmp_path)]
    env = {"PLUGIT_EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "PLUGIT_LOG_LEVEL": "WARNING"}
    api = f"http://127.0.0.1:{port}/plugIt/ebuio_api/"
    first = spawn_server(argv, cwd=tmp_path, url=api + "orgas/", env=env)
    answer = httpx.post(api + "mail/", data=FORM | {"response_id": "r-1"})
    assert answer.status_code == 200
    first.kill()  # no clean shutdown: the mail is only in the database
    first.wait()
    smtp.start()
    try:
        spawn_server(argv, cwd=tmp_path, url=api + "orgas/", env=env)
        _, mail = wait_for(lambda: smtp.mails and smtp.mails[0], timeout=60)
    finally:
        smtp.stop()
    assert mail["Subject"] == "Poll closed"
    assert REPLY_TO.match(str(mail["Reply-To"]))

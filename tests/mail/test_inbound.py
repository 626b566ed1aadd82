"""Reading replies: auto-replies, text in any charset and encoding, HTML-only, broken mail."""

from __future__ import annotations

import pytest

from plugit_proxy.mail import tokens
from plugit_proxy.mail.inbound import UnusableMail, parse_reply

from .conftest import PLATFORM_ADDRESS

TOKEN = tokens.sign(9, "polls")
TO = f"notifications+{TOKEN}@example.org"


def raw(headers: str, body: str) -> bytes:
    return (headers.strip() + "\n\n" + body).replace("\n", "\r\n").encode("latin-1")


def parse(data: bytes, envelope: tuple[str, ...] = ()) -> tuple[str, str, bool]:
    reply = parse_reply(data, envelope=envelope, platform_address=PLATFORM_ADDRESS)
    return reply.token, reply.text, reply.automatic


def test_first_text_part_of_a_multipart_mail_in_latin1_quoted_printable() -> None:
    mail = raw(
        f"""
From: =?iso-8859-1?q?Ren=E9?= <rene@example.com>
To: Notifications <{TO.upper()}>
Subject: Re: Poll
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"
""",
        """--b1
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Tr=E8s bien, d=E9j=E0 vot=E9 =E0 9 =80.
--b1
Content-Type: text/html; charset="iso-8859-1"

<p>HTML</p>
--b1--
""",
    )
    assert parse(mail) == (TOKEN, "Très bien, déjà voté à 9 €.".replace("€", "\x80"), False)


def test_windows_1252_base64_and_the_envelope_first() -> None:
    body = "Très bien à 9 €".encode("cp1252")
    import base64

    mail = raw(
        """
From: someone@example.com
To: somebody-else@example.org
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: base64
""",
        base64.b64encode(body).decode() + "\n",
    )
    assert parse(mail, envelope=(TO,)) == (TOKEN, "Très bien à 9 €", False)


def test_an_html_only_reply_gives_its_text() -> None:
    mail = raw(
        f"To: {TO}\nContent-Type: text/html; charset=utf-8",
        "<html><head><style>p {{}}</style></head><body><p>Yes &amp; no</p><p>Bye</p></body>",
    )
    assert parse(mail)[1] == "Yes & no\n\nBye"


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; owner-email=x@example.org",
        "X-Auto-Response-Suppress: All",
        "Precedence: bulk",
        "Precedence: JUNK",
        "X-Precedence: auto_reply",
    ],
)
def test_auto_replies_are_recognised(header: str) -> None:
    assert parse(raw(f"To: {TO}\n{header}", "I am away."))[2] is True


def test_auto_submitted_no_is_a_person() -> None:
    assert parse(raw(f"To: {TO}\nAuto-Submitted: no\nPrecedence: list", "Hi"))[2] is False


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff garbage without headers",
        raw("To: notifications@example.org", "no token"),
        raw(f"To: {TO}\nContent-Type: image/png", "not text"),
    ],
)
def test_unusable_mail_is_reported_not_raised(data: bytes) -> None:
    with pytest.raises(UnusableMail):
        parse(data)

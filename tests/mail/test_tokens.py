"""Reply tokens: short, lower case, signed, bound to the project; and the e-mail URL."""

from __future__ import annotations

import pytest
from django.test import override_settings

from plugit.exceptions import ConfigurationError
from plugit_proxy.mail import tokens
from plugit_proxy.mail.emailurl import BACKENDS, parse_email_url

from .conftest import PLATFORM_ADDRESS


def test_a_token_fits_a_local_part_and_verifies_in_any_case() -> None:
    token = tokens.sign(2**40, "polls")
    address = tokens.reply_address(PLATFORM_ADDRESS, token)
    assert token == token.lower()
    assert token.isalnum()
    assert len(address.partition("@")[0]) <= 64
    found = tokens.find_token([address.upper()], PLATFORM_ADDRESS)
    assert found == token
    parsed = tokens.parse_token(found)
    assert parsed is not None
    assert parsed.route_id == 2**40
    assert tokens.verify(parsed, "polls")


def test_a_tampered_or_foreign_token_fails() -> None:
    token = tokens.sign(42, "polls")
    other_route = tokens.parse_token(tokens.sign(43, "polls")[:-24] + token[-24:])
    flipped = tokens.parse_token(token[:-1] + ("a" if token[-1] != "a" else "b"))
    assert other_route is not None
    assert not tokens.verify(other_route, "polls")
    assert flipped is not None
    assert not tokens.verify(flipped, "polls")
    parsed = tokens.parse_token(token)
    assert parsed is not None
    assert not tokens.verify(parsed, "another-project")
    for malformed in ("", "abc", token + "!", "x" * 80):
        assert tokens.parse_token(malformed) is None


def test_a_rotated_secret_still_verifies_old_tokens() -> None:
    token = tokens.parse_token(tokens.sign(7, "polls"))
    assert token is not None
    with override_settings(SECRET_KEY="a-new-secret-" + "y" * 40):
        assert not tokens.verify(token, "polls")
    from django.conf import settings

    with override_settings(
        SECRET_KEY="a-new-secret-" + "y" * 40, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert tokens.verify(token, "polls")


def test_a_local_part_too_long_for_a_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="too long"):
        tokens.reply_address("n" * 40 + "@example.org", tokens.sign(1, "polls"))


def test_only_the_platform_address_carries_tokens() -> None:
    token = tokens.sign(5, "polls")
    assert tokens.find_token([f"notifications+{token}@elsewhere.org"], PLATFORM_ADDRESS) is None
    assert tokens.find_token([f"other+{token}@example.org"], PLATFORM_ADDRESS) is None
    assert tokens.find_token(["notifications@example.org"], PLATFORM_ADDRESS) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", {"backend": BACKENDS["console"]}),
        ("smtp://relay:2525", {"host": "relay", "port": 2525, "use_tls": False}),
        (
            "smtp://me%40x.org:p%2Fw@mail.x.org?starttls=true",
            {"user": "me@x.org", "password": "p/w", "port": 587, "use_tls": True},
        ),
        ("smtp+starttls://mail.x.org", {"use_tls": True, "port": 587}),
        ("smtps://mail.x.org?timeout=3", {"use_ssl": True, "port": 465, "timeout": 3.0}),
        ("file:///tmp/mails", {"backend": BACKENDS["file"], "file_path": "/tmp/mails"}),
    ],
)
def test_email_url(url: str, expected: dict[str, object]) -> None:
    config = parse_email_url(url)
    assert {key: getattr(config, key) for key in expected} == expected


@pytest.mark.parametrize(
    "url", ["gopher://x", "smtp://", "smtps://x?starttls=1", "smtp://x?timeout=0"]
)
def test_a_bad_email_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="PLUGIT_EMAIL_URL"):
        parse_email_url(url)

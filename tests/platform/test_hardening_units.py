"""The pieces of the platform's hardening, in process: hosts, public URL, log masking."""

from __future__ import annotations

import pytest
from django.test import override_settings

from plugit_proxy.platform.accesslog import redact
from plugit_proxy.platform.accounts import on_public_url
from plugit_proxy.platform.checks import check_public_url
from plugit_proxy.settings import allowed_hosts

LOOPBACK = ["localhost", "127.0.0.1", "[::1]"]


@pytest.mark.parametrize(
    ("public_url", "mode", "extra", "expected"),
    [
        ("https://platform.example.org", "platform", (), ["platform.example.org"]),
        ("https://platform.example.org:8443", "standalone", (), ["platform.example.org"]),
        (
            "https://platform.example.org",
            "platform",
            ("api.internal",),
            ["platform.example.org", "api.internal"],
        ),
        ("http://[2001:db8::1]:8000", "platform", (), ["[2001:db8::1]"]),
        ("", "platform", (), LOOPBACK),  # no public URL: never a host from the request
        ("", "platform", ("platform.lan",), ["platform.lan"]),
        ("", "standalone", (), ["*"]),  # no accounts, no mail: nothing to poison
    ],
)
def test_allowed_hosts_derive_from_the_public_url(
    public_url: str, mode: str, extra: tuple[str, ...], expected: list[str]
) -> None:
    assert allowed_hosts(public_url, mode, extra) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://evil.example/accounts/password/reset/key/1-a/",
            "https://p.example.org/accounts/password/reset/key/1-a/",
        ),
        (
            "http://127.0.0.1:8000/accounts/signup/?next=/p/a/#x",
            "https://p.example.org/accounts/signup/?next=/p/a/#x",
        ),
        ("/accounts/login/", "/accounts/login/"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
    ],
)
def test_links_move_onto_the_public_url(url: str, expected: str) -> None:
    with override_settings(PLUGIT_PUBLIC_URL="https://p.example.org"):
        assert on_public_url(url) == expected
    with override_settings(PLUGIT_PUBLIC_URL=""):
        assert on_public_url(url) == url


@pytest.mark.parametrize(
    ("public_url", "mode", "ids"),
    [
        ("https://platform.example.org", "platform", []),
        ("http://127.0.0.1:8000", "platform", []),
        ("", "standalone", []),
        ("", "platform", ["plugit_platform.W001"]),
        ("https://platform.example.org/base/", "platform", ["plugit_platform.E001"]),
        ("platform.example.org", "platform", ["plugit_platform.E001"]),
        ("ftp://platform.example.org", "platform", ["plugit_platform.E001"]),
    ],
)
def test_the_public_url_is_checked_at_start_up(public_url: str, mode: str, ids: list[str]) -> None:
    with override_settings(PLUGIT_PUBLIC_URL=public_url, PLUGIT_MODE=mode):
        assert [message.id for message in check_public_url()] == ids


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        ("/p/alpha/ebuio_api/s3cret-key/orgas/", "/p/alpha/ebuio_api/***/orgas/"),
        ("/p/alpha/ebuio_api/s3cret-key", "/p/alpha/ebuio_api/***"),
        ("/p/alpha/ebuio_api/user/3", "/p/alpha/ebuio_api/user/3"),  # no key in the path
        ("/p/a/ebuio_api/orgas/?key=s3cret&x=1", "/p/a/ebuio_api/orgas/?key=***&x=1"),
        ("/p/a/page?API_KEY=s3cret", "/p/a/page?API_KEY=***"),
        ("/p/a/page?monkey=1", "/p/a/page?monkey=1"),
    ],
)
def test_keys_are_masked_in_logged_paths(logged: str, expected: str) -> None:
    assert redact(logged) == expected

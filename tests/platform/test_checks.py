"""Start-up checks of the platform's settings."""

from __future__ import annotations

import pytest
from django.test import override_settings

from plugit_proxy.checks import check_single_sign_on


def providers(server_url: str) -> dict[str, object]:
    return {
        "openid_connect": {"APPS": [{"provider_id": "sso", "settings": {"server_url": server_url}}]}
    }


@pytest.mark.parametrize(
    "server_url",
    ["https://sso.example.org/realms/ebu", "http://127.0.0.1:8080/", "http://localhost:9000"],
)
def test_sign_on_over_tls_or_loopback_passes(server_url: str) -> None:
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers(server_url)):
        assert check_single_sign_on() == []


def test_sign_on_over_plain_http_is_refused_at_start_up() -> None:
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers("http://sso.example.org/")):
        [error] = check_single_sign_on()
    assert error.id == "plugit_proxy.E003"
    assert "http://sso.example.org/" in error.msg


def test_no_sign_on_configured_passes() -> None:
    with override_settings(SOCIALACCOUNT_PROVIDERS={}):
        assert check_single_sign_on() == []

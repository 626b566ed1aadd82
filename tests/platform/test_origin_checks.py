"""Start-up checks of the projects' origins (PLUGIT_PROJECTS_DOMAIN)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from plugit_proxy.checks import check_project_origins


def test_a_platform_without_origins_per_project_is_warned_at_start_up() -> None:
    with override_settings(PLUGIT_MODE="platform", PLUGIT_PROJECTS_DOMAIN=""):
        [warning] = check_project_origins()
        out = StringIO()
        call_command("check", stderr=out, stdout=out)  # what `plugit platform serve` runs
    assert warning.id == "plugit_proxy.W002"
    assert "must be trusted" in warning.msg
    assert "PLUGIT_PROJECTS_DOMAIN" in (warning.hint or "")
    assert "plugit_proxy.W002" in out.getvalue()


def test_origins_per_project_pass() -> None:
    with override_settings(PLUGIT_MODE="platform", PLUGIT_PROJECTS_DOMAIN="projects.example.org"):
        assert check_project_origins() == []


def test_the_standalone_proxy_is_not_concerned() -> None:
    with override_settings(PLUGIT_MODE="standalone", PLUGIT_PROJECTS_DOMAIN=""):
        assert check_project_origins() == []


@pytest.mark.parametrize("name", ["SESSION_COOKIE_DOMAIN", "CSRF_COOKIE_DOMAIN"])
def test_a_cookie_domain_shared_by_the_origins_is_refused(name: str) -> None:
    with override_settings(
        PLUGIT_MODE="platform",
        PLUGIT_PROJECTS_DOMAIN="projects.example.org",
        **{name: ".example.org"},
    ):
        [error] = check_project_origins()
    assert error.id == "plugit_proxy.E004"
    assert name in error.msg


@pytest.mark.parametrize("domain", ["https://projects.example.org", "projects.example.org:8000"])
def test_a_projects_domain_must_be_a_host_name(domain: str) -> None:
    with override_settings(PLUGIT_MODE="platform", PLUGIT_PROJECTS_DOMAIN=domain):
        [error] = check_project_origins()
    assert error.id == "plugit_proxy.E005"


def test_the_platform_must_not_be_under_the_projects_domain() -> None:
    with override_settings(
        PLUGIT_MODE="platform",
        PLUGIT_PROJECTS_DOMAIN="example.org",
        PLUGIT_PUBLIC_URL="https://platform.example.org",
    ):
        [error] = check_project_origins()
    assert error.id == "plugit_proxy.E005"

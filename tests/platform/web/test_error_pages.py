"""The platform's error pages, as visitors and operators see them, on real platform processes.

A project whose service is a real closed port: its 502 page keeps the address and the socket
error in the log, and shows them under the message only to staff accounts, or to everyone on
a platform in development mode (PLUGIT_DEV). The same error page is cached once per variant:
the operator's never reaches a visitor. Unknown projects get a 404 in the platform's look.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugit_origins_kit import browser, origins_platform
from plugit_platform_launch import Platform, apply, platform_env, serving

PLATFORM_NAME = "Acme Hub"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dead_project_toml(port: int) -> str:
    return f"""
[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[users]]
username = "alice"
email = "alice@example.org"
password_env = "PW_ALICE"

[[projects]]
slug = "dead"
name = "Dead"
services = ["http://127.0.0.1:{port}/"]
members = {{ alice = "admin" }}
"""


@contextlib.contextmanager
def start(tmp_path: Path, port: int, **settings: str) -> Iterator[Platform]:
    env = platform_env(tmp_path / "data", PLUGIT_PLATFORM_NAME=PLATFORM_NAME, **settings)
    apply(env, tmp_path, dead_project_toml(port))
    with serving(env, tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def dead_port() -> int:
    return closed_port()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, dead_port: int) -> Iterator[Platform]:
    with start(tmp_path_factory.mktemp("errors"), dead_port) as running:
        yield running


def test_only_staff_see_where_a_dead_service_is(platform: Platform, dead_port: int) -> None:
    # The operator first: the page the visitors get next must not be the operator's.
    root = platform.login("root").get("/p/dead/")
    assert root.status_code == 502
    assert "The service could not be reached." in root.text
    assert "plugit-error-detail" in root.text
    assert f"127.0.0.1:{dead_port}" in root.text
    assert "Connect call failed" in root.text
    for who, client in (("anonymous", platform.client()), ("alice", platform.login("alice"))):
        page = client.get("/p/dead/")
        assert page.status_code in (502, 503), who  # 503 once the circuit opened
        assert "Service unavailable" in page.text, who
        assert f":{dead_port}" not in page.text, who
        assert "Connect call failed" not in page.text, who
        assert "plugit-error-detail" not in page.text, who
        assert "plugit-header" in page.text, who
        assert '<a class="plugit-error-home" href="/p/dead/">' in page.text, who
    assert f"127.0.0.1:{dead_port}" in platform.output  # the operator's log still says where


def test_an_unknown_project_is_a_404_in_the_platform_look(platform: Platform) -> None:
    page = platform.client().get("/p/nope/")
    assert page.status_code == 404
    assert "No such project" in page.text
    assert "plugit-header" in page.text
    assert f">{PLATFORM_NAME}</a>" in page.text
    assert '<a class="plugit-error-home" href="/">' in page.text
    assert "plugit_proxy/favicon.svg" in page.text
    other = platform.client().get("/no/such/page/")
    assert other.status_code == 404
    assert "This page does not exist." in other.text
    assert "No such project" not in other.text


def test_the_favicon_is_served(platform: Platform) -> None:
    home = platform.client().get("/")
    link = re.search(r'<link rel="icon" href="([^"]+)"', home.text)
    assert link is not None, home.text
    icon = platform.client().get(link.group(1))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")


def test_the_admin_bears_the_platform_name(platform: Platform) -> None:
    login = platform.client().get("/admin/login/")
    assert f"{PLATFORM_NAME} administration" in login.text
    index = platform.login("root").get("/admin/")
    assert index.status_code == 200
    assert (
        f"<title>{PLATFORM_NAME}: projects, organisations and people | {PLATFORM_NAME} admin"
        in (index.text)
    )
    assert "Django administration" not in index.text
    assert "plugit_proxy/favicon.svg" in index.text


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_no_third_party_section_without_a_provider(platform: Platform, path: str) -> None:
    page = platform.client().get(path)
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert "third-party" not in page.text.lower()
    assert "socialaccount" not in page.text


def test_development_mode_shows_everyone_the_detail(tmp_path: Path) -> None:
    port = closed_port()
    with start(tmp_path, port, PLUGIT_DEV="true") as running:
        page = running.client().get("/p/dead/")
        assert page.status_code == 502
        assert f"127.0.0.1:{port}" in page.text
        assert "Connect call failed" in page.text


def test_an_unknown_project_origin_is_a_404_with_a_way_to_the_platform(tmp_path: Path) -> None:
    with origins_platform(tmp_path) as running:
        port = running.url.rsplit(":", 1)[1]
        page = browser(running).get(f"http://nope.localhost:{port}/")
        assert page.status_code == 404
        assert "No such project" in page.text
        assert "plugit-header" in page.text
        assert f'<a class="plugit-error-home" href="http://localhost:{port}/">' in page.text
        assert "ebuio_login" not in page.text  # nothing of a project that does not exist

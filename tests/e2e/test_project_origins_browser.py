"""A hostile service against a platform with an origin per project, in a real Chromium.

A superuser signs in and opens project gamma, whose service is hostile: its page's script
tries to read the platform's admin and project alpha's page, to make dave a superuser through
the admin, and to post alpha's form. Each project has its own origin (`*.localhost`, which
Chromium resolves to loopback), so the script reads nothing and changes nothing. The same
page on a platform without origins per project does all of it: the attack is real.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .test_demo_browser import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS, chromium  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform" / "web"))

from plugit_origins_kit import NOTES, is_superuser, origin, origins_platform, user_pk
from plugit_platform_launch import PASSWORDS, Platform

with contextlib.suppress(ImportError):  # the `chromium` fixture says when it is missing
    from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """Each project on its own origin (`<slug>.localhost`)."""
    with origins_platform(tmp_path) as running:
        yield running


@pytest.fixture
def shared_platform(tmp_path: Path) -> Iterator[Platform]:
    """The same platform without PLUGIT_PROJECTS_DOMAIN: every project under `/p/<slug>/`."""
    with origins_platform(tmp_path, PLUGIT_PROJECTS_DOMAIN="") as running:
        yield running


@pytest.fixture
def chromium_page(chromium: Path) -> Iterator[Callable[[Platform], Page]]:  # noqa: F811
    """`chromium_page(platform)`: a fresh Chromium tab on that platform."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:

            def open_tab(platform: Platform) -> Page:
                tab = browser.new_page(base_url=platform.url)
                tab.set_default_timeout(TIMEOUT_MS)
                expect.set_options(timeout=TIMEOUT_MS)
                return tab

            yield open_tab
        finally:
            browser.close()


def sign_in(page: Page, username: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator('input[name="login"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORDS[username])
    page.locator('input[type="password"]').press("Enter")


def attack(page: Page, platform: Platform, hostile: str) -> str:
    """Sign in as the superuser on the way to the hostile page; give what its script saw."""
    page.goto(hostile)
    assert page.url.startswith(platform.url + "/accounts/login/")
    sign_in(page, "root", page.url.split("next=", 1)[1])
    expect(page.locator("#who")).to_have_text("root")
    result = page.locator("#result")
    expect(result).to_contain_text("done")
    return result.inner_text()


def test_a_hostile_project_page_can_neither_read_nor_change_the_platform(
    chromium_page: Callable[[Platform], Page], platform: Platform
) -> None:
    page = chromium_page(platform)
    hostile = f"{origin(platform, 'gamma')}/hostile?target={user_pk(platform, 'dave')}"
    seen = attack(page, platform, hostile)
    assert page.url == hostile  # signed in on gamma's origin through the hand-off
    page.screenshot(path=SCREENSHOTS / "origins-hostile-page.png", full_page=True)
    assert "admin: blocked" in seen
    assert "admin-user: blocked" in seen
    assert "alpha: blocked" in seen
    assert "READ" not in seen
    assert "sessionid" not in seen
    assert not is_superuser(platform, "dave")
    assert NOTES == []  # alpha's service never received the hostile post

    # The same browser, on the platform's origin, is the superuser it was.
    page.goto("/admin/")  # its index
    expect(page.locator("body")).to_contain_text(": projects, organisations and people")
    # alpha's form works from alpha's own page.
    page.goto(origin(platform, "alpha") + "/")
    page.get_by_role("button", name="Note").click()
    expect(page.locator("#noted")).to_have_text("1")
    assert NOTES == ["from alpha"]


def test_on_one_shared_origin_the_same_page_owns_the_platform(
    chromium_page: Callable[[Platform], Page], shared_platform: Platform
) -> None:
    platform = shared_platform
    page = chromium_page(platform)
    seen = attack(page, platform, f"/p/gamma/hostile?target={user_pk(platform, 'dave')}")
    assert "admin-user: READ 200" in seen
    assert is_superuser(platform, "dave")  # what the start-up warning (W002) is about
    assert NOTES == ["from gamma"]

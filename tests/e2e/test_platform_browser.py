"""A two-project platform in a real Chromium: sign in with a real account, open both
projects, switch organisation. Screenshots of each step go to `test-output/e2e/`.

The platform runs as operators run it (`plugit platform apply`, then `plugit platform
serve`, on the embedded defaults); its projects are real SDK services.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugit.testing import LiveServer

from .test_demo_browser import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS, chromium  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform" / "web"))

from plugit_platform_launch import (
    PASSWORDS,
    Platform,
    apply,
    platform_env,
    platform_toml,
    serving,
)
from plugit_platform_services import build_service

with contextlib.suppress(ImportError):  # the `chromium` fixture says when it is missing
    from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """Two projects (alpha, beta) on one service, a third on another; three organisations."""
    with (
        LiveServer(build_service(tmp_path / "shared", "Shared")) as shared,
        LiveServer(build_service(tmp_path / "other", "Other")) as other,
    ):
        env = platform_env(tmp_path / "data")
        apply(env, tmp_path, platform_toml(shared.url, other.url))
        with serving(env, tmp_path) as running:
            yield running


@pytest.fixture
def page(chromium: Path, platform: Platform) -> Iterator[Page]:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(base_url=platform.url)
            tab.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


def snap(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"platform-{name}.png", full_page=True)


def test_sign_in_open_both_projects_switch_organisation(page: Page) -> None:
    page.goto("/")
    projects = page.locator(".plugit-projects")
    expect(projects).to_contain_text("Alpha")
    expect(projects).not_to_contain_text("Beta")  # members only
    snap(page, "01-home-anonymous")

    page.get_by_role("link", name="Sign in").click()
    expect(page.locator('input[type="password"]')).to_have_count(1)
    page.locator('input[name="login"]').fill("alice")
    page.locator('input[name="password"]').fill(PASSWORDS["alice"])
    snap(page, "02-login-form")
    page.locator('input[type="password"]').press("Enter")

    expect(page.locator("header")).to_contain_text("Signed in as alice")
    expect(projects).to_contain_text("Beta")
    snap(page, "03-home-signed-in")

    projects.get_by_role("link", name="Alpha").click()
    expect(page.locator("#who")).to_have_text("alice")
    expect(page.locator("#orga")).to_have_text("EBU")  # the first of hers by name
    expect(page.locator("#roles")).to_contain_text("admin=True")
    snap(page, "04-alpha-as-alice")

    page.get_by_role("button", name="Organisation").click()
    page.locator("header .dropdown-menu").get_by_role("link", name="RTS").click()
    expect(page.locator("#orga")).to_have_text("RTS")
    expect(page.locator("#roles")).to_contain_text("orga_admin=True")
    assert page.url.endswith("/p/alpha/")
    snap(page, "05-alpha-switched-to-rts")

    page.goto("/p/beta/")
    expect(page.locator("#who")).to_have_text("alice")
    expect(page.locator("#base")).to_have_text("/p/beta/")
    expect(page.locator("#orga")).to_have_text("RTS")
    snap(page, "06-beta-as-alice")

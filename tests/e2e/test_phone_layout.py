"""The layout on a phone (390 x 844, an iPhone 12-14's viewport) in a real Chromium.

The page never scrolls sideways; the header's account items and the service's side menu hide
behind toggles, so the page's own content is what shows first; each toggle opens its part.
On a desktop the same page shows both at once. Screenshots go to `test-output/e2e/`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Demo
from .test_demo_browser import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS, chromium  # noqa: F401

with contextlib.suppress(ImportError):  # the `chromium` fixture says when it is missing
    from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def demo(start_demo: Callable[[], Demo]) -> Demo:
    return start_demo()


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_tab(browser: Browser, url: str, viewport: dict[str, int]) -> Page:
    tab = browser.new_page(base_url=url, viewport=viewport)  # type: ignore[arg-type]
    tab.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return tab


def scrolls_sideways(page: Page) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def test_the_demo_fits_a_phone_with_its_menus_behind_toggles(browser: Browser, demo: Demo) -> None:
    page = open_tab(browser, demo.url, PHONE)
    page.goto("/")
    content = page.locator("#plugit-content")
    expect(content).to_be_visible()
    assert not scrolls_sideways(page)
    page.screenshot(path=SCREENSHOTS / "phone-01-closed.png", full_page=True)

    menu = page.locator("#plugit-menu-items")
    expect(menu).to_be_hidden()
    # The content starts above the fold: only the menu's button stands before it.
    box = content.bounding_box()
    assert box is not None
    assert box["y"] < PHONE["height"] / 3
    page.get_by_role("button", name="Menu").click()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link").first).to_be_visible()

    switcher = page.get_by_role("button", name="Simulated user")
    expect(switcher).to_be_hidden()
    page.get_by_role("button", name="Account and settings").click()
    expect(switcher).to_be_visible()
    assert not scrolls_sideways(page)
    page.screenshot(path=SCREENSHOTS / "phone-02-open.png", full_page=True)


def test_the_demo_on_a_desktop_shows_menu_and_header(browser: Browser, demo: Demo) -> None:
    page = open_tab(browser, demo.url, DESKTOP)
    page.goto("/")
    expect(page.locator("#plugit-menu-items")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("button", name="Simulated user")).to_be_visible()
    expect(page.get_by_role("button", name="Account and settings")).to_be_hidden()


def test_an_error_page_fits_a_phone(browser: Browser, demo: Demo) -> None:
    page = open_tab(browser, demo.url, PHONE)
    answer = page.goto("/plugIt/no/such/page/" + "x" * 300)
    assert answer is not None
    assert answer.status == 404
    expect(page.locator(".plugit-error")).to_contain_text("Page not found")
    expect(page.locator(".plugit-header")).to_be_visible()
    expect(page.locator("a.plugit-error-home")).to_be_visible()
    assert not scrolls_sideways(page)

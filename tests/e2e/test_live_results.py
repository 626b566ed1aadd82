"""Live results in a real Chromium: one browser votes, the other's bars move without a reload.

Two browser contexts (two people, each with their own cookies) on one fresh `plugit demo`:
a project member creates a poll and keeps its results open; a signed-in user votes in the
other browser. The member's page, opened before the vote, shows the new counts through the
layout's `plugit.socket` helper and the polls example's `live/<poll id>` socket, relayed by
the proxy; a marker left in its window proves that it was not reloaded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Demo
from .test_demo_browser import (  # the `chromium` fixture: skipped without it, failed on CI
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    chromium,  # noqa: F401
    switch_user,
)

with contextlib.suppress(ImportError):  # the `chromium` fixture says what is missing
    from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

QUESTION = "Tabs or spaces?"
CHOICES = ["Tabs", "Spaces"]


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:  # noqa: F811 (the imported fixture)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def demo(start_demo: Callable[[], Demo]) -> Demo:
    return start_demo()


def person(browser: Browser, demo: Demo, label: str) -> Page:
    """A browser of their own (cookies apart), signed in as the simulated user `label`."""
    tab = browser.new_context(base_url=demo.url).new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto("/plugIt/")
    switch_user(tab, label)
    return tab


def create_poll(page: Page) -> None:
    page.get_by_role("main").get_by_role("link", name="New poll").click()
    page.get_by_label("Question").fill(QUESTION)
    for number, text in enumerate(CHOICES, start=1):
        page.get_by_label(f"Choice {number}", exact=True).fill(text)
    page.get_by_role("button", name="Create the poll").click()
    expect(page.get_by_role("heading", name=QUESTION, level=1)).to_be_visible()


def test_a_vote_in_one_browser_moves_the_bars_in_another(browser: Browser, demo: Demo) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watcher = person(browser, demo, "Project member")
    create_poll(watcher)
    spaces = watcher.locator(".polls-results tr", has_text="Spaces")
    expect(spaces).to_contain_text("0 (0%)")
    # The page's socket is open once the helper has had its first counts; mark the window.
    watcher.wait_for_function("() => window.plugit && typeof plugit.socket === 'function'")
    watcher.evaluate("() => { window.notReloaded = true; }")

    voter = person(browser, demo, "Signed-in user")
    voter.get_by_role("main").get_by_role("link", name=QUESTION).click()
    voter.get_by_label("Spaces", exact=True).check()
    voter.get_by_role("button", name="Vote").click()
    expect(voter.locator(".polls-results tr", has_text="Spaces")).to_contain_text("1 (100%)")

    expect(spaces).to_contain_text("1 (100%)")
    expect(spaces.locator(".polls-bar")).to_have_attribute("style", re.compile(r"width: 100%"))
    expect(watcher.locator(".polls-results tr", has_text="Tabs")).to_contain_text("0 (0%)")
    expect(watcher.locator(".polls-total")).to_have_text("1 vote")
    assert watcher.evaluate("() => window.notReloaded === true"), "the page was reloaded"
    watcher.screenshot(path=SCREENSHOTS / "07-live-results-other-browser.png", full_page=True)

"""The polls demo in a real Chromium: each role does what the polls README promises.

One story, in order, on one fresh demo: an anonymous visitor reads and is refused the create
page, a member creates a poll, a signed-in user votes, an administrator sees who voted what.
Screenshots of each step go to `test-output/e2e/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Demo

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the `chromium` fixture says so
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "e2e"
TIMEOUT_MS = 10_000

QUESTION = "Which editor do you use?"
CHOICES = ["Vim", "Emacs", "VS Code"]
VOTED = "Emacs"


def _unavailable() -> str:
    """Why the browser cannot run here ("" when it can)."""
    if not HAVE_PLAYWRIGHT:
        return "the playwright package is missing (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt install chromium)"
    return ""


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium: skipped when missing, except on CI, where a missing browser fails."""
    reason = _unavailable()
    if reason and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def page(chromium: Path, start_demo: Callable[[], Demo]) -> Iterator[Page]:
    """A Chromium tab on a fresh demo's `/` (the demo stops when the test ends)."""
    demo = start_demo()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(base_url=demo.url)
            tab.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


def snap(page: Page, name: str) -> None:
    """Save what the user sees now as `test-output/e2e/<name>.png`."""
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def switch_user(page: Page, label: str) -> None:
    """Pick a simulated user in the layout's user menu, as a developer would."""
    page.get_by_role("button", name="Simulated user").click()
    page.get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("button", name="Simulated user")).to_have_text(label)


def test_each_role_does_its_part(page: Page) -> None:
    as_anonymous_read_and_be_refused(page)
    as_member_create_a_poll(page)
    as_signed_in_user_vote(page)
    as_admin_see_the_voters(page)


def as_anonymous_read_and_be_refused(page: Page) -> None:
    """The polls page loads in the layout; the create page is a 403 naming the rule."""
    response = page.goto("/")
    assert response is not None
    assert response.status == 200
    assert page.url.endswith("/plugIt/")
    expect(page.get_by_role("heading", name="Polls", level=1)).to_be_visible()
    expect(page.get_by_text("No polls yet.")).to_be_visible()
    expect(page.locator("header")).to_contain_text("Not signed in")
    expect(page.get_by_role("link", name="All polls")).to_be_visible()  # the side menu
    snap(page, "01-anonymous-polls-page")

    response = page.goto("/plugIt/create")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("403")
    expect(page.get_by_role("alert")).to_contain_text("only_member_user")
    snap(page, "02-anonymous-create-forbidden")


def as_member_create_a_poll(page: Page) -> None:
    """A member creates a poll through the form and finds it listed."""
    page.goto("/plugIt/")
    switch_user(page, "Project member")
    expect(page.locator("header")).to_contain_text("Signed in as member")
    page.get_by_role("main").get_by_role("link", name="New poll").click()
    page.get_by_label("Question").fill(QUESTION)
    for number, text in enumerate(CHOICES, start=1):
        page.get_by_label(f"Choice {number}", exact=True).fill(text)
    snap(page, "03-member-create-form")
    page.get_by_role("button", name="Create the poll").click()

    expect(page.get_by_role("heading", name=QUESTION, level=1)).to_be_visible()
    expect(page.get_by_text("Asked by member")).to_be_visible()
    page.get_by_role("link", name="← All polls").click()
    listed = page.locator(".polls-list li", has_text=QUESTION)
    expect(listed).to_contain_text("0 votes")
    snap(page, "04-member-poll-listed")


def as_signed_in_user_vote(page: Page) -> None:
    """A signed-in user votes and sees the vote counted as theirs."""
    switch_user(page, "Signed-in user")
    page.get_by_role("main").get_by_role("link", name=QUESTION).click()
    page.get_by_label(VOTED, exact=True).check()
    page.get_by_role("button", name="Vote").click()

    row = page.locator(".polls-results tr", has_text=VOTED)
    expect(row).to_contain_text("your vote")
    expect(row).to_contain_text("1 (100%)")
    expect(page.get_by_text(re.compile(r"·\s*1 vote\b"))).to_be_visible()
    snap(page, "05-user-voted")


def as_admin_see_the_voters(page: Page) -> None:
    """An administrator sees the signed-in user's name under the choice they voted for."""
    switch_user(page, "Project administrator")
    page.get_by_role("link", name="Who voted what").click()

    expect(page.get_by_role("heading", name="Who voted what")).to_be_visible()
    voted = page.locator("section.polls-voters", has_text=VOTED)
    expect(voted.get_by_role("heading")).to_have_text(f"{VOTED} (1)")
    expect(voted.get_by_role("listitem")).to_have_text("logged #-1")
    for other in (c for c in CHOICES if c != VOTED):
        expect(page.locator("section.polls-voters", has_text=other)).to_contain_text("Nobody.")
    snap(page, "06-admin-voters")

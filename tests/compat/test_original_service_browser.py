"""The original-style notes service behind a real `plugit proxy`, in a real Chromium.

The service runs as `python server.py`; the proxy as `python -m plugit proxy --service <url>
--layout legacy`, each a process of its own. For the anonymous, signed-in, member and admin
users, every page shows what that user may see, inside a legacy layout whose Bootstrap 3 styles,
glyphicon font and jQuery really work, with no script error. A quick look at the same service
under the modern layout closes. Screenshots go to `test-output/e2e/compat-*.png`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.test_demo_browser import (  # noqa: F401  (chromium is a fixture)
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    chromium,
)

from .conftest import ServerProcess

with contextlib.suppress(ImportError):  # the `chromium` fixture says when it is missing
    from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

MOUNT = "/plugIt/"
PRETITLES = {
    "": "Notes, a service written for the original PlugIt",
    "note/1": "Note #1",
    "add": "Writing as member",
    "admin": "For the administrators of the project",
}
DENIED = "403 · Access denied"
NOT_FOUND = "404 · Page not found"
# Bootstrap 3's own values (Bootstrap 5 has no .well and draws .btn-default not at all).
WELL_SHADOW = "rgba(0, 0, 0, 0.05) 0px 1px 1px 0px inset"
BTN_DEFAULT_BORDER = "rgb(204, 204, 204)"


@contextlib.contextmanager
def running_proxy(
    service: str, layout: str, data_dir: Path, port: int, server_process: ServerProcess
) -> Iterator[str]:
    """Run `plugit proxy` as a user types it in front of `service`; yield its base URL."""
    url = f"http://127.0.0.1:{port}"
    argv = ["python", "-m", "plugit", "proxy", "--service", service, "--port", str(port)]
    argv += ["--layout", layout, "--workers", "1", "--data-dir", str(data_dir)]
    with server_process(argv, cwd=data_dir, url=url + MOUNT):
        yield url


@pytest.fixture(scope="module")
def proxies(
    original_service: str,
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[..., int],
    server_process: ServerProcess,
) -> Iterator[dict[str, str]]:
    """The base URL of a legacy and of a modern `plugit proxy`, both before the service."""
    with contextlib.ExitStack() as stack:
        urls = {
            layout: stack.enter_context(
                running_proxy(
                    original_service,
                    layout,
                    tmp_path_factory.mktemp(f"proxy-{layout}"),
                    free_port(),
                    server_process,
                )
            )
            for layout in ("legacy", "modern")
        }
        yield urls


@dataclass
class Tab:
    """A Chromium tab on one proxy, and the script errors it met."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def open(self, path: str, status: int = 200) -> None:
        """Go to `path` under the mount and check the answer's status."""
        response = self.page.goto(MOUNT + path)
        assert response is not None
        assert response.status == status, f"{MOUNT + path}: {response.status}"

    def become(self, mode: str) -> None:
        """Switch the simulated user through the proxy's `ebuio_setUser`."""
        self.open(f"ebuio_setUser?mode={mode}")
        assert self.page.url.endswith(MOUNT)

    def snap(self, name: str) -> None:
        """Save what the user sees now as `test-output/e2e/compat-<name>.png`."""
        self.page.screenshot(path=SCREENSHOTS / f"compat-{name}.png", full_page=True)


@pytest.fixture
def open_tab(chromium: Path, proxies: dict[str, str]) -> Iterator[Callable[[str], Tab]]:  # noqa: F811
    """`open_tab(layout)`: a fresh Chromium tab (new session) on that layout's proxy."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:

            def open_tab(layout: str) -> Tab:
                page = browser.new_page(base_url=proxies[layout])
                page.set_default_timeout(TIMEOUT_MS)
                tab = Tab(page)
                page.on("pageerror", lambda error: tab.errors.append(f"{page.url}: {error}"))
                page.on("console", lambda message: _console_error(tab, page, message))
                return tab

            expect.set_options(timeout=TIMEOUT_MS)
            yield open_tab
        finally:
            browser.close()


def _console_error(tab: Tab, page: Page, message: ConsoleMessage) -> None:
    # A refused page (403/404) is logged by Chromium as a failed load: that is the point.
    if message.type == "error" and "the server responded with a status of" not in message.text:
        tab.errors.append(f"{page.url}: {message.text}")


def check_service_page(tab: Tab, path: str) -> None:
    """The page shows its pretitle, and its own menu once, in the side column."""
    page = tab.page
    expect(page.locator("#pretitle")).to_have_text(PRETITLES[path])
    expect(page.locator("#pretitle")).to_be_visible()
    expect(page.locator("#notes-menu")).to_have_count(1)
    menu = page.locator("nav.plugit-menu #notes-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link")).to_have_text(["All notes", "New note", "Administration"])
    side, main = menu.bounding_box(), page.locator("main").bounding_box()
    assert side
    assert main
    assert side["x"] + side["width"] <= main["x"]  # beside the page, not in it


def check_refused(tab: Tab, path: str, heading: str, rule: str = "", *, menu: bool = False) -> None:
    """`path` is the proxy's own error page, in the legacy layout.

    A page its access rules refuse shows no menu of the service; a page whose action answered
    the error (its access granted) keeps the page's side menu, in the side column.
    """
    tab.open(path, int(heading[:3]))
    alert = tab.page.get_by_role("alert")
    expect(alert).to_contain_text(heading)
    if rule:
        expect(alert).to_contain_text(f"(rule: {rule})")
    expect(tab.page.locator("nav.plugit-menu #notes-menu")).to_have_count(1 if menu else 0)
    expect(tab.page.locator("#pretitle")).to_have_count(0)
    expect(tab.page.locator("body.plugit-legacy")).to_have_count(1)
    check_jquery(tab)


def check_bootstrap_3(tab: Tab) -> None:
    """Bootstrap 3's CSS styles `.well` and `.btn-default`, its glyphicons load, its JS runs."""
    page = tab.page
    well = page.locator("#greeting")
    expect(well).to_have_css("box-shadow", WELL_SHADOW)
    expect(well).to_have_css("background-color", "rgb(245, 245, 245)")
    button = page.locator("a.btn-default", has_text="Write a note")
    expect(button).to_have_css("border-top-color", BTN_DEFAULT_BORDER)
    expect(button).to_have_css("background-color", "rgb(255, 255, 255)")
    expect(page.locator("#notes-menu .glyphicon-home")).to_have_css(
        "font-family", '"Glyphicons Halflings"'
    )
    page.wait_for_function(
        """() => document.fonts.ready.then(() => [...document.fonts].some(
            font => font.family.replace(/"/g, '') === 'Glyphicons Halflings'
                && font.status === 'loaded'))"""
    )
    assert page.evaluate("jQuery.fn.tooltip.Constructor.VERSION") == "3.4.1"
    # Bootstrap 3's dropdown plugin opens the header's user menu.
    page.get_by_role("button", name="Simulated user").click()
    expect(page.get_by_role("link", name="Project member", exact=True)).to_be_visible()
    page.keyboard.press("Escape")


def check_jquery(tab: Tab) -> None:
    """`$` is the jQuery the legacy layout loads, ready before the page's own scripts."""
    assert tab.page.evaluate("typeof window.jQuery") == "function"
    assert tab.page.evaluate("window.$ === window.jQuery")
    assert re.fullmatch(r"3\.\d+\.\d+", tab.page.evaluate("jQuery.fn.jquery"))


def test_anonymous_reads_the_list_and_is_refused_the_rest(open_tab: Callable[[str], Tab]) -> None:
    tab = open_tab("legacy")
    tab.open("")
    expect(tab.page.locator("#greeting")).to_contain_text("Hello, visitor.")
    expect(tab.page.locator("header, nav.plugit-header")).to_contain_text("Not signed in")
    expect(tab.page.locator(".list-group-item")).to_have_text(["Welcome", "Secret"])
    check_service_page(tab, "")
    check_jquery(tab)
    check_bootstrap_3(tab)
    tab.snap("01-anonymous-home")
    check_refused(tab, "note/1", DENIED, "only_logged_user")
    tab.snap("02-anonymous-note-refused")
    check_refused(tab, "add", DENIED, "only_member_user")
    check_refused(tab, "admin", DENIED, "only_admin_user")
    check_refused(tab, "no/such/page", NOT_FOUND)
    assert tab.errors == []


def test_signed_in_user_reads_notes_and_sets_a_theme(open_tab: Callable[[str], Tab]) -> None:
    tab = open_tab("legacy")
    tab.become("log")
    expect(tab.page.locator("#greeting")).to_contain_text("Hello logged!")
    check_service_page(tab, "")
    tab.page.get_by_role("link", name="Welcome").click()
    expect(tab.page.locator("#note-title")).to_have_text("Welcome")
    expect(tab.page.locator(".note-text")).to_have_text("The first note.")
    check_service_page(tab, "note/1")
    tab.snap("03-logged-note")
    # flask.abort(403) and flask.abort(404) in the action: the proxy's own pages, with the menu.
    check_refused(tab, "note/2", DENIED, menu=True)
    check_refused(tab, "note/99", NOT_FOUND, menu=True)
    tab.snap("04-logged-abort-404")
    check_refused(tab, "add", DENIED, "only_member_user")
    check_refused(tab, "admin", DENIED, "only_admin_user")
    # PlugItSetSession: the theme chosen on one page is remembered on the next.
    tab.open("")
    tab.page.get_by_role("link", name="Dark theme").click()
    expect(tab.page.locator("#greeting")).to_contain_text("theme: dark")
    assert tab.page.url.endswith(MOUNT)
    assert tab.errors == []


def test_member_writes_a_note_with_the_jquery_helper(open_tab: Callable[[str], Tab]) -> None:
    tab = open_tab("legacy")
    page = tab.page
    tab.become("mem")
    page.locator("nav.plugit-menu").get_by_role("link", name="New note").click()
    expect(page.get_by_label("Topic")).to_be_visible()
    check_service_page(tab, "add")
    check_jquery(tab)
    token = page.locator("#add-form input[name=csrfmiddlewaretoken]").input_value()
    assert token
    page.get_by_label("Topic").fill("tea")
    with page.expect_response(f"**{MOUNT}suggest") as suggested:
        page.get_by_role("button", name="Suggest a title").click()
    assert suggested.value.status == 200
    assert f"csrfmiddlewaretoken={token}" in (suggested.value.request.post_data or "")
    expect(page.get_by_label("Title")).to_have_value("Some thoughts about tea")
    page.get_by_label("Text").fill("Green, not black.")
    tab.snap("05-member-add")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#note-title")).to_have_text("Some thoughts about tea")
    expect(page.locator(".note-text")).to_have_text("Green, not black.")
    assert re.search(rf"{MOUNT}note/\d+$", page.url)
    page.get_by_role("link", name="Back").click()
    expect(page.locator(".list-group-item").last).to_have_text("Some thoughts about tea")
    tab.snap("06-member-note-listed")
    # The token is what lets the helper through: the same post without it is refused.
    status = page.evaluate(
        """() => fetch('suggest', {method: 'POST', body: new URLSearchParams({topic: 'x'})})
            .then(response => response.status)"""
    )
    assert status == 403
    check_refused(tab, "admin", DENIED, "only_admin_user")
    assert tab.errors == []


def test_admin_sees_every_page(open_tab: Callable[[str], Tab]) -> None:
    tab = open_tab("legacy")
    tab.become("adm")
    tab.page.locator("nav.plugit-menu").get_by_role("link", name="Administration").click()
    expect(tab.page.locator("#database")).to_have_text("Database: sqlite:///notes.db")
    expect(tab.page.locator("#count")).to_contain_text("notes")
    check_service_page(tab, "admin")
    tab.snap("07-admin")
    tab.open("add")
    expect(tab.page.locator("#pretitle")).to_have_text("Writing as admin")
    tab.open("note/1")
    check_service_page(tab, "note/1")
    check_refused(tab, "note/99", NOT_FOUND, menu=True)
    assert tab.errors == []


def test_modern_layout_keeps_the_pretitle_and_the_menu_once(
    open_tab: Callable[[str], Tab],
) -> None:
    tab = open_tab("modern")
    tab.open("")
    check_service_page(tab, "")
    expect(tab.page.locator("#greeting")).to_contain_text("Hello, visitor.")
    # Bootstrap 5 and no jQuery: the legacy checks above are not true of any page.
    expect(tab.page.locator("#greeting")).not_to_have_css("box-shadow", WELL_SHADOW)
    assert tab.page.evaluate("typeof window.jQuery") == "undefined"
    tab.snap("08-modern-home")
    assert tab.errors == []

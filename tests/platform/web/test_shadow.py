"""Shadow versions over real processes: copies after the answer, exact counts in the admin.

A platform (`plugit platform serve`, two worker processes: the counts of both add up) with
two projects on the same production service: `shady` is shadowed by a service that answers
some routes differently, `hung` by a server that accepts connections and never answers.
"""

from __future__ import annotations

import contextlib
import html
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from plugit_platform_launch import Platform, apply, platform_env, serving
from plugit_registry_kit import HungListener, load, write_service

from plugit.testing import LiveServer

IN_FLIGHT = 2
TEXT = re.compile(r"<p id='text'>([^<]*)</p>")


def platform_toml(prod: str, shadow: str, hung: str) -> str:
    return f'''
[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[projects]]
slug = "shady"
name = "Shadowed"
services = ["{prod}"]
versions = {{ next = ["{shadow}"] }}
shadow = ["next"]

[[projects]]
slug = "hung"
name = "Hung shadow"
services = ["{prod}"]
versions = {{ next = ["{hung}"] }}
shadow = ["next"]
'''


@pytest.fixture(scope="module")
def hung() -> Iterator[HungListener]:
    with HungListener().running() as listener:
        yield listener


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, hung: HungListener) -> Iterator[Platform]:
    folder = write_service(tmp_path_factory.mktemp("shadow-service"))
    workdir = tmp_path_factory.mktemp("shadow-platform")
    with (
        LiveServer(load(folder, "prod")) as prod,
        LiveServer(load(folder, "next", flavour="shadow")) as shadow,
    ):
        env = platform_env(
            workdir / "data",
            PLUGIT_HEALTH_INTERVAL="0",  # no probes: the hung server sees copies only
            PLUGIT_SHADOW_TIMEOUT="3600",  # a hung copy waits until the test releases it
            PLUGIT_SHADOW_IN_FLIGHT=str(IN_FLIGHT),
        )
        apply(env, workdir, platform_toml(prod.url, shadow.url, hung.url))
        with serving(env, workdir, workers=2) as running:
            yield running


def shadow_rows(admin: httpx.Client) -> dict[tuple[str, str], dict[str, str]]:
    """The admin's shadow comparisons, by (project, route): each column's text."""
    page = admin.get("/admin/plugit_registry/shadowroute/")
    assert page.status_code == 200, page.text
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page.text, flags=re.DOTALL):
        cells = re.findall(r'class="field-(\w+)[^"]*"[^>]*>(.*?)</t[dh]>', row, flags=re.DOTALL)
        values = {name: html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for name, text in cells}
        if "route" in values:
            rows[values["project"], values["route"]] = values
    return rows


def until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {timeout} s")


def counts(row: dict[str, str]) -> tuple[int, ...]:
    names = ("copies", "status_differs", "body_differs", "failures", "dropped")
    return tuple(int(row[name]) for name in names)


def test_the_admin_counts_every_copy_and_difference_exactly(platform: Platform) -> None:
    expected = {"/same": (5, 0, 0, 0, 0), "/differs": (4, 0, 4, 0, 0), "/status": (3, 3, 3, 0, 0)}
    browser = platform.client()
    for route, (number, *_) in expected.items():
        for _ in range(number):
            page = browser.get(f"/p/shady{route}")
            assert page.status_code == 200, page.text  # production's answer, always
            assert TEXT.search(page.text) is not None, page.text
    form = browser.get("/p/shady/same")  # the sixth GET of /same: counted below
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None, form.text
    for _ in range(2):  # unsafe: not copied (no PLUGIT_SHADOW_UNSAFE)
        posted = browser.post("/p/shady/same", data={"csrfmiddlewaretoken": token.group(1)})
        assert posted.status_code == 200, posted.text
    expected["/same"] = (6, 0, 0, 0, 0)
    admin = platform.login("root", "/admin/")
    wanted = {("shady", route): value for route, value in expected.items()}

    def exact() -> bool:
        rows = shadow_rows(admin)
        found = {key: counts(rows[key]) for key in wanted if key in rows}
        return found == wanted

    until(exact, "the admin's shadow counts")
    time.sleep(2.5)  # two more writes of every process: nothing more is added
    rows = shadow_rows(admin)
    assert {key: counts(rows[key]) for key in wanted} == wanted
    assert rows["shady", "/same"]["shadow_ms"] != "-"  # answered copies have a latency


def test_a_hung_shadow_changes_nothing_for_the_page(platform: Platform, hung: HungListener) -> None:
    pages = 8
    browser = platform.client()
    first = browser.get("/p/hung/differs")
    assert first.status_code == 200, first.text
    until(
        lambda: any(r.startswith(b"GET /action/differs") for r in hung.requests),
        "the first copy at the hung shadow",
    )
    # That copy is held without an answer, with an hour's deadline: were a page to wait for
    # its copy, none of these would arrive (the client gives up after 15 s).
    for _ in range(pages - 1):
        page = browser.get("/p/hung/differs")
        assert page.status_code == 200, page.text
        assert TEXT.search(page.text).group(1) == "production"  # type: ignore[union-attr]
    admin = platform.login("root", "/admin/")
    held = shadow_rows(admin).get(("hung", "/differs"))
    assert held is None or counts(held)[0] == 0  # no copy has ended: they all hang
    hung.release()  # the hung copies now fail: each is counted, none answered

    def settled() -> bool:
        row = shadow_rows(admin).get(("hung", "/differs"))
        if row is None:
            return False
        copies, _, _, failures, dropped = counts(row)
        return copies >= 1 and copies + dropped == pages and failures == copies

    until(settled, "every hung copy counted")
    assert shadow_rows(admin)["hung", "/differs"]["shadow_ms"] == "-"  # none answered


def test_shadow_answers_never_reach_the_browser(platform: Platform) -> None:
    with contextlib.closing(platform.client()) as browser:
        for route, text in (("/differs", "production"), ("/status", "found")):
            page = browser.get(f"/p/shady{route}")
            assert page.status_code == 200
            assert TEXT.search(page.text).group(1) == text  # type: ignore[union-attr]

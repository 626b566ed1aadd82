"""A service author's first hour, from a fresh virtualenv, with the commands the docs print.

1. `pip install -e '.[proxy]'` from a checkout (the README's line), in a new virtualenv. The
   checkout is a copy of this one's sources, so the install writes nothing in this tree.
2. `plugit new service hello`, `cd hello`, `plugit dev` (the "Next:" hints).
3. The printed URL in Chromium; the template and the action's code edited on disk; the next
   reload shows both.
4. `plugit check http://127.0.0.1:5000/ /` (the new service's README) while it runs.
5. Ctrl-C stops everything; `pip install -e '.[test]'` and `python -m pytest` (the hints)
   pass, the service's test updated with the action's new words as its author would.

Ports 5000 and 8000 are the documented ones; when something on this machine holds one, a
free port stands in (`--port` / `--service-port`, the only change to a typed command).
Slow (a few minutes): it installs real packages, with pip's cache and configured indexes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dev_kit import READY, clean_environment, running, still_running

from . import test_demo_browser as browser_kit

with contextlib.suppress(ImportError):  # without it, the `chromium` fixture says so
    from playwright.sync_api import Page, sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900.0
CHANGE_TIMEOUT = 90.0
SERVICE_PORT, PROXY_PORT = 5000, 8000  # the documented ones

TEMPLATE_WORDS, EDITED_TEMPLATE_WORDS = "This page is the", "This edited page is the"
ACTION_WORDS, EDITED_ACTION_WORDS = "Hello, visitor!", "Welcome, visitor!"


@dataclass(frozen=True)
class Venv:
    """A fresh virtualenv, used as if activated: its bin/ first on PATH."""

    path: Path

    @property
    def env(self) -> dict[str, str]:
        env = clean_environment(VIRTUAL_ENV=str(self.path))
        for name in ("PYTHONPATH", "PYTHONHOME"):
            env.pop(name, None)
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def ok(self, command: str, *, cwd: Path, timeout: float = 120) -> str:
        """Run one command line as typed in a terminal; it must succeed; return its output."""
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"$ {command}\n{result.stdout}\n{result.stderr}"
        return result.stdout


def documented(command: str, *texts: str) -> str:
    """`command`, once it is seen word for word in one of the docs' `texts`."""
    assert any(command in text for text in texts), f"the docs do not print {command!r}"
    return command


def port_or_free(port: int) -> int:
    """`port` when nothing listens on it, else a free one."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh virtualenv with the checkout installed the README's way."""
    checkout = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    shutil.copytree(
        ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    fresh = Venv(tmp_path_factory.mktemp("venv") / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(fresh.path)], check=True, timeout=300)
    install = documented("pip install -e '.[proxy]'", (ROOT / "README.md").read_text())
    fresh.ok(install, cwd=checkout, timeout=INSTALL_TIMEOUT)
    return fresh


@pytest.fixture
def browser_page(chromium: Path) -> Iterator[Page]:
    """A Chromium tab."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=browser_kit.CHROMIUM_ARGS
        )
        try:
            tab = browser.new_page()
            tab.set_default_timeout(browser_kit.TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium: skipped when missing, except on CI, as in the demo's tests."""
    reason = browser_kit._unavailable()
    if reason and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    if reason:
        pytest.skip(reason)
    return browser_kit.CHROMIUM


def test_first_hour(venv: Venv, browser_page: Page, tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "writing-a-service.md").read_text()
    readme = (ROOT / "README.md").read_text()
    printed = venv.ok(documented("plugit new service hello", guide, readme), cwd=tmp_path)
    hints = printed.split("\nNext:\n")[1]
    service = tmp_path / documented("cd hello", hints).removeprefix("cd ")

    dev = documented("plugit dev", hints, guide)
    service_port, proxy_port = port_or_free(SERVICE_PORT), port_or_free(PROXY_PORT)
    if (service_port, proxy_port) != (SERVICE_PORT, PROXY_PORT):
        dev += f" --port {proxy_port} --service-port {service_port}"
    with running(shlex.split(dev), cwd=service, env=venv.env, logs=tmp_path / "dev") as cmd:
        url = cmd.wait_for(READY).group(1)
        assert url == f"http://127.0.0.1:{proxy_port}/plugIt/"
        browser_page.goto(url)
        assert TEMPLATE_WORDS in browser_page.content()
        assert browser_page.locator(".hello h1").inner_text() == ACTION_WORDS

        edit(service / "templates" / "home.html", TEMPLATE_WORDS, EDITED_TEMPLATE_WORDS)
        edit(service / "service.py", ACTION_WORDS, EDITED_ACTION_WORDS)
        reload_until_shown(browser_page, EDITED_TEMPLATE_WORDS, EDITED_ACTION_WORDS)
        assert browser_page.locator(".hello h1").inner_text() == EDITED_ACTION_WORDS

        check = documented(
            "plugit check http://127.0.0.1:5000/ /", (service / "README.md").read_text()
        ).replace(":5000/", f":{service_port}/")
        report = venv.ok(check, cwd=service, timeout=120)
        assert re.search(r"^ok: ", report, re.MULTILINE), report

        family = cmd.family()
        assert cmd.interrupt() == 0, cmd.output
        assert still_running(family) == set(), cmd.output

    edit(service / "tests" / "test_service.py", ACTION_WORDS, EDITED_ACTION_WORDS)
    venv.ok(documented("pip install -e '.[test]'", hints), cwd=service, timeout=INSTALL_TIMEOUT)
    tested = venv.ok(documented("python -m pytest", hints), cwd=service, timeout=300)
    assert re.search(r"\b\d+ passed\b", tested), tested
    assert "failed" not in tested, tested


def edit(path: Path, old: str, new: str) -> None:
    """Change `old` to `new` in the file, as its author saves it."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))


def reload_until_shown(page: Page, *words: str) -> None:
    """Reload the page, as its author does, until every one of `words` is on it."""
    deadline = time.monotonic() + CHANGE_TIMEOUT
    while True:
        page.reload()
        content = page.content()
        if all(word in content for word in words):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{words} not shown within {CHANGE_TIMEOUT} s:\n{content[:3000]}")
        time.sleep(0.5)

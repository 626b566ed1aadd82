"""`plugit dev` and `plugit serve --reload`, run as a user runs them, in a new service's folder.

The service is the one `plugit new service hello` writes. An edit is what a developer does:
the template's words and the action's words changed on disk; the next page must show both.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dev_kit import READY, clean_environment, poll_until, running, still_running

from .commands import PLUGIT

pytestmark = pytest.mark.timeout(400)

TEMPLATE_WORDS = "This page is the"
ACTION_WORDS = "Hello, visitor!"
EDITED_TEMPLATE_WORDS = "This edited page is the"
EDITED_ACTION_WORDS = "Welcome, visitor!"


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    """A service written by `plugit new service hello`."""
    subprocess.run([str(PLUGIT), "new", "service", "hello"], cwd=tmp_path, check=True)
    return tmp_path / "hello"


def edit_template_and_action(service: Path) -> None:
    """Change the home page's template and its action's code, as a developer saves them."""
    template = service / "templates" / "home.html"
    assert TEMPLATE_WORDS in template.read_text()
    template.write_text(template.read_text().replace(TEMPLATE_WORDS, EDITED_TEMPLATE_WORDS))
    code = service / "service.py"
    assert ACTION_WORDS in code.read_text()
    code.write_text(code.read_text().replace(ACTION_WORDS, EDITED_ACTION_WORDS))


def break_the_action(service: Path) -> None:
    """Make the home page's action raise, as a slip in the code does."""
    code = service / "service.py"
    line = '    name = request.args.get("ebuio_u_first_name")'
    assert line in code.read_text()
    code.write_text(code.read_text().replace(line, "    1 / 0\n" + line))


def shows_both_edits(text: str) -> bool:
    return EDITED_TEMPLATE_WORDS in text and EDITED_ACTION_WORDS in text


def test_serve_reload_restarts_on_code_and_template_changes(
    service_dir: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(PLUGIT), "serve", "service:service", "--port", str(port), "--reload"]
    with running(argv, cwd=service_dir, env=clean_environment(), logs=tmp_path / "serve") as cmd:
        template = poll_until(lambda: httpx.get(f"{base}/template/").text, bool, timeout=120)
        assert TEMPLATE_WORDS in template
        assert ACTION_WORDS in httpx.get(f"{base}/action/").text
        family = cmd.family()
        edit_template_and_action(service_dir)
        poll_until(
            lambda: httpx.get(f"{base}/template/").text + httpx.get(f"{base}/action/").text,
            shows_both_edits,
        )
        assert cmd.interrupt() == 0, cmd.output
        assert still_running(family | cmd.family()) == set(), cmd.output


def test_dev_serves_the_service_behind_a_proxy_that_shows_every_edit(
    service_dir: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port, service_port = free_port(), free_port()
    argv = [str(PLUGIT), "dev", "--port", str(port), "--service-port", str(service_port)]
    with running(argv, cwd=service_dir, env=clean_environment(), logs=tmp_path / "dev") as cmd:
        url = cmd.wait_for(READY).group(1)
        assert url == f"http://127.0.0.1:{port}/plugIt/"
        printed = re.findall(r"https?://\S+", cmd.stdout.read_text().split("PlugIt dev ready")[1])
        assert printed == [url], "the ready lines name one URL, the one to open"
        page = httpx.get(url).text
        assert TEMPLATE_WORDS in page
        assert ACTION_WORDS in page
        family = cmd.family()
        assert len(family) >= 4, "plugit dev, the service's reloader and server, the proxy"
        edit_template_and_action(service_dir)
        poll_until(lambda: httpx.get(url).text, shows_both_edits)
        assert "Traceback" not in cmd.output  # the only one to come is the service's own
        break_the_action(service_dir)  # the service runs with DEBUG: its traceback shows
        page = poll_until(lambda: httpx.get(url).text, lambda text: "ZeroDivisionError" in text)
        assert "service.py" in page, "the traceback names the service's own file"
        assert cmd.interrupt() == 0, cmd.output
        assert cmd.stdout.read_text().rstrip().endswith("PlugIt dev stopped."), cmd.output
        assert still_running(family | cmd.family()) == set(), cmd.output


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("flag", ["--port", "--service-port"])
def test_dev_says_in_one_line_that_a_port_is_taken(
    service_dir: Path, taken_port: int, flag: str, free_port: Callable[[], int]
) -> None:
    other = "--service-port" if flag == "--port" else "--port"
    argv = [str(PLUGIT), "dev", flag, str(taken_port), other, str(free_port())]
    result = subprocess.run(argv, cwd=service_dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"plugit: error: cannot listen on 127.0.0.1:{taken_port}, it is already in use: "
        f"stop what uses it or choose another with {flag}\n"
    )
    assert result.stdout == ""


def test_dev_outside_a_service_folder_says_where_to_run_it(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    result = subprocess.run(
        [str(PLUGIT), "dev", "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"plugit: error: no service.py in {tmp_path}: "), result.stderr
    assert "plugit new service NAME" in result.stderr


def test_dev_stops_both_when_the_service_cannot_start(
    service_dir: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    (service_dir / "service.py").write_text("app = None\n")  # no `service` in it
    argv = [str(PLUGIT), "dev", "--port", str(free_port())]
    argv += ["--service-port", str(free_port())]
    with running(argv, cwd=service_dir, env=clean_environment(), logs=tmp_path / "dev") as cmd:
        code = cmd.process.wait(120)
        assert code != 0
        assert "PlugIt dev ready" not in cmd.output
        assert "plugit: error: module 'service' has no attribute 'service'" in cmd.output
        assert "plugit: error: the service stopped (exit code 2)" in cmd.output
        assert still_running(cmd.family()) == set()


def test_serve_reload_refuses_several_workers(service_dir: Path) -> None:
    result = subprocess.run(
        [str(PLUGIT), "serve", "service:service", "--reload", "--workers", "2"],
        cwd=service_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "plugit: error: --reload runs one process, not 2 workers (--workers, PLUGIT_WORKERS)\n"
    )

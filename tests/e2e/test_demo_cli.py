"""`plugit demo` over HTTP: ready line, `/` leads to the polls, clean stops, clear errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import Demo, demo_command, demo_environment, processes_in_group

STOPPED_WITHIN = 5.0


def test_ready_line_names_the_url_and_root_leads_to_the_polls(
    start_demo: Callable[[], Demo],
) -> None:
    demo = start_demo()
    assert demo.url == f"http://127.0.0.1:{demo.port}/"

    root = httpx.get(demo.url, follow_redirects=False, trust_env=False)
    assert root.status_code == 302
    assert root.headers["location"] == "/plugIt/"

    page = httpx.get(demo.url, follow_redirects=True, trust_env=False)
    assert page.status_code == 200
    assert str(page.url) == f"{demo.url}plugIt/"
    assert "<h1>Polls</h1>" in page.text
    assert "No polls yet." in page.text
    assert "Not signed in" in page.text  # inside the proxy's layout


def test_data_goes_under_the_data_dir(start_demo: Callable[[], Demo], tmp_path: Path) -> None:
    start_demo()
    demo_dir = tmp_path / "data" / "demo"
    assert (demo_dir / "polls.sqlite3").is_file()
    assert (demo_dir / "proxy" / "db.sqlite3").is_file()


@pytest.mark.parametrize(
    ("sig", "to_group"),
    [
        pytest.param(signal.SIGINT, True, id="ctrl-c"),
        pytest.param(signal.SIGTERM, False, id="sigterm"),
    ],
)
def test_a_signal_stops_the_demo_and_everything_it_started(
    start_demo: Callable[[], Demo], sig: signal.Signals, to_group: bool
) -> None:
    demo = start_demo()
    pid = demo.process.pid
    assert processes_in_group(pid)

    started = time.monotonic()
    if to_group:  # a terminal's Ctrl-C reaches the whole foreground group
        demo.stop(sig, timeout=STOPPED_WITHIN)
    else:  # a service manager signals the one process
        demo.process.send_signal(sig)
        demo.process.wait(STOPPED_WITHIN)

    assert time.monotonic() - started < STOPPED_WITHIN
    assert demo.process.returncode == 0, demo.output
    assert "PlugIt demo stopped." in demo.output
    assert "Traceback" not in demo.output
    assert processes_in_group(pid) == [], "processes left behind"
    with pytest.raises(httpx.ConnectError):
        httpx.get(demo.url, trust_env=False)


def test_a_taken_port_is_one_clear_line(tmp_path: Path, free_port: Callable[..., int]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_demo(port, tmp_path)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"plugit: error: cannot listen on 127.0.0.1:{port}, it is already in use: "
        "stop what uses it or choose another with --port (or PLUGIT_PORT)"
    ]
    assert "PlugIt demo ready" not in result.stdout


def test_a_missing_example_is_one_clear_line(tmp_path: Path, free_port: Callable[..., int]) -> None:
    result = _run_demo(free_port(), tmp_path, PLUGIT_DEMO_SERVICE_DIR=str(tmp_path / "nowhere"))

    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("plugit: error: the polls example is not in ")
    assert "PLUGIT_DEMO_SERVICE_DIR" in line


def _run_demo(port: int, workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the demo to its end (for starts that must fail)."""
    return subprocess.run(
        demo_command(port),
        cwd=workdir,
        env={**demo_environment(workdir / "data"), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )

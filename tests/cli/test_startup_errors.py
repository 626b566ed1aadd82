"""A start that cannot succeed is one line naming what is wrong and the fix, never a traceback.

Each test runs the real command in a subprocess, as a user types it, and reads what it prints.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .startup import run_to_the_end

ASGI_APP = '''
async def app(scope, receive, send):
    """Any ASGI application will do: these starts fail before it is called."""
'''

# Every command that listens, with what it needs besides the port.
LISTENING = {
    "serve": ["serve", "app:app"],
    "proxy": ["proxy", "--service", "http://127.0.0.1:9"],
    "platform serve": ["platform", "serve"],
    "demo": ["demo"],
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with an ASGI app to serve (`app:app`)."""
    (tmp_path / "app.py").write_text(ASGI_APP)
    return tmp_path


@pytest.fixture
def taken_port(free_port: Callable[..., int]) -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        yield int(taken.getsockname()[1])


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line the failed command wrote to stderr (it printed nothing else)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("plugit: error: ")
    return lines[0]


@pytest.mark.parametrize("command", LISTENING, ids=str)
def test_a_taken_port_is_one_line_before_any_banner(
    command: str, workdir: Path, taken_port: int
) -> None:
    result = run_to_the_end([*LISTENING[command], "--port", str(taken_port)], workdir)

    assert one_error_line(result) == (
        f"plugit: error: cannot listen on 127.0.0.1:{taken_port}, it is already in use: "
        "stop what uses it or choose another with --port (or PLUGIT_PORT)"
    )
    assert result.stdout == ""  # no banner, no "ready"
    assert not (workdir / "data" / "db.sqlite3").exists()  # nothing migrated either


@pytest.mark.parametrize("command", ["proxy", "platform serve"])
def test_a_taken_port_from_the_variable_is_the_same_line(
    command: str, workdir: Path, taken_port: int
) -> None:
    result = run_to_the_end(LISTENING[command], workdir, PLUGIT_PORT=str(taken_port))

    assert f"cannot listen on 127.0.0.1:{taken_port}, it is already in use" in (
        one_error_line(result)
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", LISTENING, ids=str)
def test_a_port_variable_that_is_no_number_is_one_line(command: str, workdir: Path) -> None:
    result = run_to_the_end(LISTENING[command], workdir, PLUGIT_PORT="abc")

    line = one_error_line(result)
    assert "PLUGIT_PORT='abc' is not" in line
    assert "use digits" in line
    assert result.stdout == ""


def test_a_port_that_does_not_exist_is_one_line(workdir: Path) -> None:
    result = run_to_the_end(LISTENING["proxy"], workdir, PLUGIT_PORT="70000")

    assert one_error_line(result) == (
        "plugit: error: PLUGIT_PORT='70000' is not a port number: use a number from 1 to 65535"
    )


def test_a_bad_workers_variable_is_the_serve_commands_one_line(workdir: Path) -> None:
    result = run_to_the_end(LISTENING["serve"], workdir, PLUGIT_WORKERS="many")

    assert "PLUGIT_WORKERS='many' is not a whole number" in one_error_line(result)


def test_a_bad_port_variable_is_no_concern_of_other_commands(workdir: Path) -> None:
    """The parsers no longer read variables: `plugit new --help` does not care about them."""
    result = run_to_the_end(["new", "--help"], workdir, PLUGIT_PORT="abc", PLUGIT_WORKERS="x")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: plugit new")


@pytest.mark.parametrize("command", ["proxy", "platform serve"])
def test_a_malformed_database_url_is_one_line(command: str, workdir: Path) -> None:
    result = run_to_the_end(LISTENING[command], workdir, PLUGIT_DATABASE_URL="nonsense")

    assert one_error_line(result) == (
        "plugit: error: PLUGIT_DATABASE_URL='nonsense' is not a database URL: use "
        "postgresql://user@host:5432/name or sqlite:////absolute/path.sqlite3"
    )
    assert result.stdout == ""


def test_an_unreachable_database_is_one_line_without_its_password(
    workdir: Path, free_port: Callable[..., int]
) -> None:
    closed = free_port()  # nobody listens there: PostgreSQL refuses at once
    url = f"postgresql://plugit:s3cret-word@127.0.0.1:{closed}/plugit"
    result = run_to_the_end(LISTENING["platform serve"], workdir, PLUGIT_DATABASE_URL=url)

    line = one_error_line(result)
    assert line.startswith(
        f"plugit: error: cannot connect to PLUGIT_DATABASE_URL="
        f"postgresql://plugit:***@127.0.0.1:{closed}/plugit: "
    )
    assert "refused" in line.lower()
    assert "s3cret-word" not in result.stdout + result.stderr
    assert result.stdout == ""


def test_an_unreachable_database_is_one_line_for_platform_apply(
    workdir: Path, free_port: Callable[..., int]
) -> None:
    (workdir / "platform.toml").write_text('[[organisations]]\ncodops = "zzebu"\nname = "EBU"\n')
    url = f"postgresql://plugit@127.0.0.1:{free_port()}/plugit"
    result = run_to_the_end(
        ["platform", "apply", "platform.toml"], workdir, PLUGIT_DATABASE_URL=url
    )

    assert "cannot connect to PLUGIT_DATABASE_URL=postgresql://plugit@127.0.0.1:" in (
        one_error_line(result)
    )


@pytest.mark.parametrize("command", ["proxy", "platform serve"])
def test_a_malformed_redis_url_is_one_line(command: str, workdir: Path) -> None:
    result = run_to_the_end(LISTENING[command], workdir, PLUGIT_REDIS_URL="localhost:6379")

    assert one_error_line(result).startswith(
        "plugit: error: PLUGIT_REDIS_URL='localhost:6379' is not a URL: use redis://"
    )
    assert result.stdout == ""

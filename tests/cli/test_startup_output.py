"""What `plugit proxy`, `plugit platform serve` and `plugit demo` print as they start.

Where the data lives, and nothing else by default: no "System check identified no issues", no
uvicorn life-cycle lines; `PLUGIT_LOG_LEVEL=debug` brings the details back. Each test runs the
real command, waits until it serves, then stops it as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .startup import answers, start_and_stop

POSTGRES_URL = os.environ.get("PLUGIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
NOISE = (
    "System check identified",
    "Started server process",
    "Waiting for application startup",
    "Application startup complete",
    "Uvicorn running on",
)
SECRET_KEY = "startup-tests-secret-" + "k" * 40
ONE_WORKER = {"PLUGIT_WORKERS": "1"}


def quiet(text: str) -> bool:
    return not any(noise in text for noise in NOISE)


def test_the_proxy_says_where_it_listens_and_where_its_data_lives(
    tmp_path: Path, free_port: Callable[..., int]
) -> None:
    port = free_port()
    args = ["proxy", "--service", "http://127.0.0.1:9", "--port", str(port)]
    started = start_and_stop(args, tmp_path, answers(f"http://127.0.0.1:{port}/"), **ONE_WORKER)

    data = tmp_path / "data"
    assert started.stdout_lines[:4] == [
        f"PlugIt proxy: http://127.0.0.1:{port}/plugIt/ -> http://127.0.0.1:9",
        f"  data folder: {data}",
        f"  database: SQLite, {data / 'db.sqlite3'}",
        "  cache and sessions: files in the data folder",
    ]
    assert quiet(started.stdout + started.stderr), started.stdout + started.stderr
    assert "PLUGIT_SECRET_KEY" not in started.stderr  # one developer, one machine: no warning
    assert "Traceback" not in started.stderr


def test_debug_brings_the_details_back(tmp_path: Path, free_port: Callable[..., int]) -> None:
    port = free_port()
    args = ["proxy", "--service", "http://127.0.0.1:9", "--port", str(port)]
    started = start_and_stop(
        args,
        tmp_path,
        answers(f"http://127.0.0.1:{port}/"),
        PLUGIT_LOG_LEVEL="debug",
        **ONE_WORKER,
    )

    said = started.stdout + started.stderr
    assert "System check identified no issues" in said
    assert "Application startup complete" in said


def test_the_platform_warns_once_about_a_generated_secret_key(
    tmp_path: Path, free_port: Callable[..., int]
) -> None:
    port = free_port()
    started = start_and_stop(
        ["platform", "serve", "--port", str(port)],
        tmp_path,
        answers(f"http://127.0.0.1:{port}/"),
        **ONE_WORKER,
    )

    data = tmp_path / "data"
    assert started.stdout_lines[:4] == [
        f"PlugIt platform: http://127.0.0.1:{port}/",
        f"  data folder: {data}",
        f"  database: SQLite, {data / 'db.sqlite3'}",
        "  cache and sessions: files in the data folder",
    ]
    warnings = [line for line in started.stderr_lines if "PLUGIT_SECRET_KEY" in line]
    assert warnings == [
        f"plugit: warning: PLUGIT_SECRET_KEY is not set: the key generated in "
        f"{data / 'secret_key'} signs sessions and API-key hashes; every process and machine "
        "of this platform must use the same one (set PLUGIT_SECRET_KEY to it everywhere), or "
        "users are signed out and API keys stop working"
    ]
    assert (data / "secret_key").is_file()
    # The system checks' warnings stay (they ask for a decision); their all-clear does not.
    assert "PLUGIT_PUBLIC_URL is not set" in started.stderr
    assert "Started server process" not in started.stdout + started.stderr


def test_a_platform_with_its_secret_key_set_has_no_warning(
    tmp_path: Path, free_port: Callable[..., int]
) -> None:
    port = free_port()
    started = start_and_stop(
        ["platform", "serve", "--port", str(port)],
        tmp_path,
        answers(f"http://127.0.0.1:{port}/"),
        PLUGIT_SECRET_KEY=SECRET_KEY,
        **ONE_WORKER,
    )

    assert "PLUGIT_SECRET_KEY" not in started.stderr
    assert not (tmp_path / "data" / "secret_key").exists()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server (skipped when none answers, unless CI)."""
    import psycopg

    try:
        psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (CI=true): {error}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    name = f"plugit_startup_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_password(url: str, password: str) -> str:
    """`url` with `password` added to its user part (trust authentication ignores it)."""
    scheme, _, rest = url.partition("://")
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user}:{password}@{host}"


@pytest.mark.postgres
def test_the_platform_shows_its_database_url_without_the_password(
    tmp_path: Path, free_port: Callable[..., int]
) -> None:
    port = free_port()
    with postgres_database() as url:
        if "@" not in url:
            pytest.skip("PLUGIT_TEST_POSTGRES_URL names no user to add a password to")
        started = start_and_stop(
            ["platform", "serve", "--port", str(port)],
            tmp_path,
            answers(f"http://127.0.0.1:{port}/"),
            PLUGIT_DATABASE_URL=with_password(url, "not-for-your-eyes"),
            PLUGIT_SECRET_KEY=SECRET_KEY,
            **ONE_WORKER,
        )

    assert f"  database: {with_password(url, '***')}" in started.stdout_lines
    assert "not-for-your-eyes" not in started.stdout + started.stderr


def test_the_demo_says_where_its_data_lives(tmp_path: Path, free_port: Callable[..., int]) -> None:
    port = free_port()
    started = start_and_stop(
        ["demo", "--port", str(port)], tmp_path, lambda out: "PlugIt demo ready: " in out
    )

    demo = tmp_path / "data" / "demo"
    lines = started.stdout_lines
    assert f"PlugIt demo: the polls example's database is {demo / 'polls.sqlite3'}" in lines
    assert f"  data folder: {demo / 'proxy'}" in lines
    assert f"  database: SQLite, {demo / 'proxy' / 'db.sqlite3'}" in lines
    assert quiet(started.stdout + started.stderr), started.stdout + started.stderr
    assert started.returncode == 0

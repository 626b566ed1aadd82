"""Self-registration over real processes: `plugit serve --register` and a platform.

The platform runs as `plugit platform serve` (two worker processes: they must agree on the
instances); the registering service as `plugit serve app:service --register ...`, as users
run it. Production has a configured instance (`prod`); the registered one says `joined`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import Platform, apply, free_port, platform_env, serving
from plugit_registry_kit import load, write_service

from plugit.testing import LiveServer

KEY = "registry-key-" + "r" * 30
WHO = re.compile(r"<p id='who'>([^<]*)</p>")
TTL = 3.0
LOGS: dict[int, Path] = {}  # each service process's output


def project_toml(prod: str) -> str:
    return f'''
[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[projects]]
slug = "reg"
name = "Registered"
services = ["{prod}"]
api_key_env = "KEY_REG"
'''


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_service(tmp_path_factory.mktemp("registry-service"))


@pytest.fixture(scope="module")
def prod(service_dir: Path) -> Iterator[str]:
    with LiveServer(load(service_dir, "prod")) as server:
        yield server.url


@contextlib.contextmanager
def platform_with(workdir: Path, prod: str, **settings: str) -> Iterator[Platform]:
    env = platform_env(workdir / "data", KEY_REG=KEY, PLUGIT_REGISTRY_TTL=str(TTL), **settings)
    apply(env, workdir, project_toml(prod))
    with serving(env, workdir, workers=2) as platform:
        yield platform


@pytest.fixture(scope="module")
def platform(prod: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform_with(tmp_path_factory.mktemp("registry-open"), prod) as running:
        yield running


@pytest.fixture(scope="module")
def strict(prod: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    workdir = tmp_path_factory.mktemp("registry-approval")
    with platform_with(workdir, prod, PLUGIT_REGISTRY_APPROVAL="true") as running:
        yield running


@contextlib.contextmanager
def registered_service(
    service_dir: Path, platform: Platform, name: str
) -> Iterator[subprocess.Popen[str]]:
    """`plugit serve app:service --register` until the block ends (SIGTERM then)."""
    port = free_port()
    command = [sys.executable, "-m", "plugit", "serve", "app:service", "--port", str(port)]
    command += ["--register", platform.url, "--project", "reg"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}
    env.update(SERVICE_NAME=name, PLUGIT_API_KEY=KEY, PYTHONUNBUFFERED="1")
    log = service_dir / f"{name}-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=service_dir, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    LOGS[process.pid] = log
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
        if process.poll() is None:
            process.kill()
            process.wait()


def names_seen(platform: Platform, pages: int = 12) -> set[str]:
    """Who answered `pages` requests to the project's home page."""
    seen = set()
    with httpx.Client(base_url=platform.url, timeout=20) as client:
        for _ in range(pages):
            page = client.get("/p/reg/")
            assert page.status_code == 200, page.text
            found = WHO.search(page.text)
            assert found is not None, page.text
            seen.add(found.group(1))
    return seen


def until(check: Callable[[], bool], what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout} s")


def status(platform: Platform) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "plugit", "platform", "status"],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def output_of(process: subprocess.Popen[str]) -> str:
    return LOGS[process.pid].read_text()


def test_a_service_registers_is_served_and_leaves_on_shutdown(
    platform: Platform, service_dir: Path
) -> None:
    with registered_service(service_dir, platform, "joined") as service:
        until(lambda: "joined" in names_seen(platform), "the registered instance served")
        listed = status(platform)
        assert re.search(r"http://127\.0\.0\.1:\d+/\s+registered, approved, live", listed), listed
        assert "version production" in listed
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
        said = output_of(service)
    assert "registered http://127.0.0.1:" in said, said
    assert "deregistered http://127.0.0.1:" in said, said
    assert "registered," not in status(platform)  # gone from the registry at once
    until(lambda: names_seen(platform) == {"prod"}, "only production served again")


def test_a_missed_heartbeat_expires_the_instance(platform: Platform, service_dir: Path) -> None:
    with registered_service(service_dir, platform, "frozen") as service:
        until(lambda: "frozen" in names_seen(platform), "the registered instance served")
        service.send_signal(signal.SIGSTOP)  # no heartbeat, no answer, no goodbye
        try:
            until(lambda: "expired" in status(platform), "the instance listed as expired")
            # Out of rotation: every page comes from production (none waits on the frozen one).
            assert names_seen(platform, pages=10) == {"prod"}
        finally:
            service.send_signal(signal.SIGCONT)


def test_with_approval_a_new_instance_waits_until_approved(
    strict: Platform, service_dir: Path
) -> None:
    with registered_service(service_dir, strict, "candidate"):
        until(lambda: "pending approval" in status(strict), "the instance listed as pending")
        assert names_seen(strict) == {"prod"}  # registered, not served
        database = Path(strict.env["PLUGIT_DATA_DIR"]) / "db.sqlite3"
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute("UPDATE plugit_registry_registeredinstance SET approved = 1")
        until(lambda: "candidate" in names_seen(strict), "the approved instance served")


def test_registration_needs_the_project_key(platform: Platform) -> None:
    endpoint = platform.url + "/p/reg/ebuio_api/instances/"
    body = {"url": "http://127.0.0.1:9/"}
    assert httpx.post(endpoint, json=body).status_code == 403
    wrong = httpx.post(endpoint, json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    bad = httpx.post(endpoint, json={"url": "ftp://x"}, headers={"Authorization": f"Bearer {KEY}"})
    assert bad.status_code == 400
    assert "http://" in bad.json()["error"]

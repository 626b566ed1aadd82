"""Start real platforms for tests: `plugit platform apply`, then `plugit platform serve`.

A platform runs as users run it: its own process (group), on a free port, on the embedded
defaults (SQLite, in-process cache) or on PostgreSQL and Redis. Its services are real SDK
services (`plugit.testing.LiveServer`) in the test process. The browser test imports this
module too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

POSTGRES_URL = os.environ.get("PLUGIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("PLUGIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
SECRET_KEY = "platform-web-tests-" + "s" * 40
READY_TIMEOUT = 60.0
PASSWORDS = {
    "root": "root-Pa55word!",
    "alice": "alice-Pa55word!",
    "bob": "bob-Pa55word!",
    "carol": "carol-Pa55word!",
    "dave": "dave-Pa55word!",
}
API_KEYS = {"alpha": "alpha-key-" + "a" * 30, "beta": "beta-key-" + "b" * 30}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(reason: str) -> None:
    """Skip for `reason`, except on CI, where what is missing is a failure."""
    if on_ci():
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def check_postgres_and_redis() -> None:
    """Skip (fail on CI) unless PostgreSQL and Redis answer."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        require(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        require(f"Redis is not reachable at {REDIS_URL}: {error}")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one platform; dropped afterwards."""
    import psycopg

    name = f"plugit_web_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def platform_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without stray PLUGIT_* settings, plus the platform's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLUGIT_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        PLUGIT_DATA_DIR=str(data_dir),
        PLUGIT_SECRET_KEY=SECRET_KEY,
        PLUGIT_PROJECTS_REFRESH="0.3",
        PLUGIT_MAIL_BACKGROUND="false",
        PLUGIT_LOGIN_RATE_LIMITS="false",  # every test signs in from 127.0.0.1
        PYTHONUNBUFFERED="1",
    )
    env.update({f"PW_{name.upper()}": password for name, password in PASSWORDS.items()})
    env.update({f"KEY_{slug.upper()}": key for slug, key in API_KEYS.items()})
    env.update(settings)
    return env


def stores_env(backend: str, workdir: Path, database: str | None) -> dict[str, str]:
    """The environment of a platform on `backend` (`embedded` or `postgres`)."""
    if backend == "embedded":
        return platform_env(workdir / "data")
    assert database is not None
    return platform_env(
        workdir / "data",
        PLUGIT_DATABASE_URL=database,
        PLUGIT_REDIS_URL=REDIS_URL,
        PLUGIT_CACHE_PREFIX=f"web-{uuid.uuid4().hex[:8]}",
    )


def platform_toml(shared: str, other: str) -> str:
    """Two projects on the SAME service URL (alpha, beta), one more (gamma), three orgas."""
    return f'''
[[organisations]]
codops = "zzebu"
name = "EBU"

[[organisations]]
codops = "chrts"
name = "RTS"

[[organisations]]
codops = "gbbbc"
name = "BBC"

[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[users]]
username = "alice"
email = "alice@example.org"
first_name = "Alice"
password_env = "PW_ALICE"
organisations = {{ chrts = "admin", zzebu = "member" }}

[[users]]
username = "bob"
email = "bob@example.org"
password_env = "PW_BOB"
organisations = {{ gbbbc = "member" }}

[[users]]
username = "carol"
email = "carol@example.org"
password_env = "PW_CAROL"
organisations = {{ zzebu = "admin" }}

[[users]]
username = "dave"
email = "dave@example.org"
password_env = "PW_DAVE"

[[projects]]
slug = "alpha"
name = "Alpha"
services = ["{shared}"]
orga_mode = true
user_fields = ["username", "id", "pk", "email", "ebuio_member", "ebuio_admin",
               "ebuio_orga_member", "ebuio_orga_admin", "subscription_labels"]
api_key_env = "KEY_ALPHA"
members = {{ alice = "admin", bob = "member" }}
subscriptions = {{ alice = ["gold", "pro"] }}

[[projects]]
slug = "beta"
name = "Beta"
services = ["{shared}"]
orga_mode = true
visibility = "members"
user_fields = ["username", "id", "pk"]
allowed_organisations = ["chrts", "gbbbc"]
api_key_env = "KEY_BETA"
members = {{ alice = "member", dave = "admin", bob = "member" }}

[[projects]]
slug = "gamma"
name = "Gamma"
services = ["{other}"]
visibility = "signed_in"
layout = "plain"
'''


@dataclass
class Platform:
    """A running `plugit platform serve`."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self) -> httpx.Client:
        """A fresh browser-like client (its own cookies)."""
        client = httpx.Client(base_url=self.url, timeout=15)
        self.clients.append(client)
        return client

    def login(self, username: str, next_url: str = "/") -> httpx.Client:
        """A client signed in through the login form."""
        client = self.client()
        sign_in(client, username, next_url)
        return client


def sign_in(client: httpx.Client, username: str, next_url: str = "/") -> httpx.Response:
    """Post the login form the way a browser does; return the redirect it answers."""
    form = client.get("/accounts/login/", params={"next": next_url})
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None, form.text
    answer = client.post(
        "/accounts/login/",
        data={
            "login": username,
            "password": PASSWORDS[username],
            "csrfmiddlewaretoken": token.group(1),
            "next": next_url,
        },
    )
    assert answer.status_code == 302, answer.text
    return answer


def apply(env: dict[str, str], workdir: Path, text: str) -> str:
    """Run `plugit platform apply` on `text`; return what it printed."""
    path = workdir / f"platform-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "plugit", "platform", "apply", str(path)],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextlib.contextmanager
def serving(env: dict[str, str], workdir: Path, *, workers: int = 1) -> Iterator[Platform]:
    """Run `plugit platform serve` on a free port until the block ends."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    command = [sys.executable, "-m", "plugit", "platform", "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform = Platform(url=f"http://127.0.0.1:{port}", env=env, process=process, log=log)
    try:
        _wait_ready(platform)
        yield platform
    finally:
        for client in platform.clients:
            client.close()
        _stop(process)


def _wait_ready(platform: Platform) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if platform.process.poll() is not None:
            pytest.fail(
                f"the platform exited with {platform.process.returncode}:\n{platform.output}"
            )
        try:
            httpx.get(platform.url + "/", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"the platform did not answer within {READY_TIMEOUT} s:\n{platform.output}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

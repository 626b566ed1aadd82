"""The production shape on this machine: Debian's nginx in front of two platform processes.

Everything comes from `deploy/`: the nginx site rendered by `deploy/nginx/render.py`, the
platform processes started with the systemd unit's own `ExecStart` (its port filled in), their
settings read from `deploy/platform.env.example` with only the machine's values replaced. nginx
runs as this user from a folder of its own (`nginx -p`), never as the system's service.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PLATFORM_UNIT = DEPLOY / "systemd" / "plugit-platform@.service"
MAIL_UNIT = DEPLOY / "systemd" / "plugit-mail-worker.service"
ENV_EXAMPLE = DEPLOY / "platform.env.example"
UNIT_VENV = "/opt/plugit/venv"  # where the units expect the platform's virtualenv
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("PLUGIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("PLUGIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_TIMEOUT = 90.0


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(reason: str) -> None:
    """Skip for `reason`, except on CI, where what is missing is a failure."""
    if on_ci():
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll until something accepts on 127.0.0.1:`port`; fail with the log if `process` dies."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    pytest.fail(f"nothing listened on {port} within {READY_TIMEOUT} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the process group `process` leads, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# -- nginx ----------------------------------------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        require("nginx is not installed (scripts/test installs it: apt-get install nginx)")
    return found


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for `localhost` and its key, made with openssl as the docs say."""
    if shutil.which("openssl") is None:
        require("openssl is not installed (scripts/test installs it with nginx)")
    certificate, key = folder / "platform.pem", folder / "platform.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


@dataclass
class Nginx:
    """A running nginx, its ports and its folder."""

    http_port: int
    https_port: int
    folder: Path
    site: str
    process: subprocess.Popen[bytes]


def render_site(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run deploy/nginx/render.py with `args`, as an operator would."""
    return subprocess.run(
        [sys.executable, str(DEPLOY / "nginx" / "render.py"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def main_config(folder: Path, site: Path) -> str:
    """An nginx.conf that keeps everything in `folder` and includes the site as Debian does."""
    user = ""
    if os.geteuid() == 0:  # the workers would otherwise switch to "nobody"
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
{user}
events {{ worker_connections 256; }}
http {{
    access_log {folder / "access.log"};
{temp}
    include {site};
}}
"""


@contextlib.contextmanager
def running_nginx(folder: Path, certificate: Path, key: Path, ports: list[int]) -> Iterator[Nginx]:
    """nginx with the deploy site in front of `ports`, until the block ends."""
    binary = nginx_binary()
    http_port, https_port = free_port(), free_port()
    rendered = render_site(
        [
            *("--server-name", "localhost", "--certificate", str(certificate), "--key", str(key)),
            *("--ports", ",".join(map(str, ports))),
            *("--http-port", str(http_port), "--https-port", str(https_port)),
        ]
    )
    assert rendered.returncode == 0, rendered.stderr
    site = folder / "plugit.conf"
    site.write_text(rendered.stdout)
    config = folder / "nginx.conf"
    config.write_text(main_config(folder, site))
    command = [binary, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    log = folder / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_listening(https_port, process, folder / "error.log")
        yield Nginx(http_port, https_port, folder, rendered.stdout, process)
    finally:
        stop(process, signal.SIGQUIT)


# -- the platform ---------------------------------------------------------------------------


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
def fresh_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    import psycopg

    name = f"plugit_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_prefix() -> Iterator[str]:
    """A cache prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"deploy-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"*{prefix}*", count=500):
            client.delete(key)
        client.close()


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines, as systemd's EnvironmentFile reads them (no quotes used here)."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def unit_exec_start(unit: Path) -> list[str]:
    """The unit's ExecStart, split as systemd splits it."""
    for line in unit.read_text().splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    raise AssertionError(f"{unit.name} has no ExecStart")


def local_command(unit: Path, instance: str = "") -> list[str]:
    """The unit's ExecStart with this virtualenv for the unit's and `%i` for the instance."""
    argv = [part.replace("%i", instance) for part in unit_exec_start(unit)]
    assert argv[0].startswith(UNIT_VENV + "/bin/"), argv
    return [str(VENV_BIN / argv[0].removeprefix(UNIT_VENV + "/bin/")), *argv[1:]]


@dataclass
class PlatformProcess:
    """One `plugit platform serve`, started as the systemd unit starts it."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_platform(env: dict[str, str], folder: Path, port: int) -> PlatformProcess:
    """Start the unit's command for `port` (not waiting for it)."""
    log = folder / f"platform-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            local_command(PLATFORM_UNIT, str(port)),
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return PlatformProcess(port, process, log)


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    """The example's lines, each value replaced by `values`' where it names one (as an operator
    edits it); names the example lacks are appended."""
    lines, seen = [], set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, equals, _ = line.partition("=")
        if equals and not line.startswith("#") and name in values:
            line = f"{name}={values[name]}"
            seen.add(name)
        lines.append(line)
    lines += [f"{name}={value}" for name, value in values.items() if name not in seen]
    path.write_text("\n".join(lines) + "\n")
    return path


def apply_platform_file(env: dict[str, str], env_file: Path, folder: Path, text: str) -> None:
    """`plugit platform apply` with the settings file sourced by sh, as the docs run it."""
    path = folder / "platform.toml"
    path.write_text(text)
    plugit = VENV_BIN / "plugit"
    script = f"set -a && . {shlex.quote(str(env_file))} && exec {plugit} platform apply {path}"
    done = subprocess.run(
        ["sh", "-c", script],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

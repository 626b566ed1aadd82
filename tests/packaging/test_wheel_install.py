"""The first hour from a fresh virtualenv: the wheel and the sdist, installed as a user would.

The wheel and the sdist are built with `python -m build` from a copy of the source (nothing is
written in the checkout), then each is installed in a clean virtualenv with pip (its cache and
the configured indexes). The wheel alone (no extra) must give a `plugit` command that scaffolds
a service whose printed "Next:" hints work word for word, and commands that need the proxy
extra must say what to install. Slow (a few minutes): it installs real packages.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from plugit.cli.extras import COMMANDS_NEEDING_EXTRAS

pytestmark = pytest.mark.timeout(1800)

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900.0
SERVICE_PORT = 5000  # the port the hints name


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path
    version: str


@dataclass(frozen=True)
class Venv:
    """A clean virtualenv, used as if activated: its bin/ first on PATH."""

    path: Path

    @property
    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
            and not key.startswith("PLUGIT_")
        }
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        env["COLUMNS"] = "200"
        return env

    def shell(
        self, command: str, *, cwd: Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run one shell command line as typed in a terminal with this venv activated."""
        return subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, command: str, *, cwd: Path, timeout: float = 120) -> str:
        """Run `command`; it must succeed; return its output."""
        result = self.shell(command, cwd=cwd, timeout=timeout)
        assert result.returncode == 0, f"$ {command}\n{result.stdout}\n{result.stderr}"
        return result.stdout


def make_venv(path: Path) -> Venv:
    subprocess.run(
        [sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, timeout=300
    )
    return Venv(path)


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """The wheel and the sdist, built by `python -m build` from a copy of the source."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", *(p.name for p in ROOT.glob("LICEN[CS]E*"))):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("plugit3-*-py3-none-any.whl")
    (sdist,) = out.glob("plugit3-*.tar.gz")
    version = wheel.name.split("-")[1]
    assert sdist.name == f"plugit3-{version}.tar.gz"
    return Distributions(wheel=wheel, sdist=sdist, version=version)


@pytest.fixture(scope="module")
def sdk_venv(distributions: Distributions, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A clean virtualenv with the wheel alone installed: `pip install plugit3`, no extra."""
    venv = make_venv(tmp_path_factory.mktemp("sdk") / "venv")
    venv.ok(f"pip install '{distributions.wheel}'", cwd=venv.path, timeout=INSTALL_TIMEOUT)
    return venv


def test_the_wheel_gives_the_plugit_command(
    sdk_venv: Venv, distributions: Distributions, tmp_path: Path
) -> None:
    assert sdk_venv.ok("plugit --version", cwd=tmp_path) == f"plugit3 {distributions.version}\n"
    check = sdk_venv.shell("python -c 'import django'", cwd=tmp_path)
    assert check.returncode != 0, "the SDK alone must not bring Django"


def test_help_lists_only_what_works_without_the_proxy(sdk_venv: Venv, tmp_path: Path) -> None:
    shown = sdk_venv.ok("plugit --help", cwd=tmp_path)
    listed = set(re.findall(r"^    (\w+) ", shown, flags=re.MULTILINE))
    assert {"serve", "new"} <= listed, shown
    assert not listed & set(COMMANDS_NEEDING_EXTRAS), shown


@pytest.mark.parametrize(("command", "extras"), COMMANDS_NEEDING_EXTRAS.items())
def test_a_command_needing_the_proxy_says_what_to_install(
    sdk_venv: Venv, tmp_path: Path, command: str, extras: str
) -> None:
    for typed in (f"plugit {command}", f"plugit {command} --help", f"plugit {command} --port 1"):
        result = sdk_venv.shell(typed, cwd=tmp_path)
        assert result.returncode == 2, typed
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
        assert result.stderr.startswith(f"plugit {command}: this command needs the ")
        assert result.stderr.endswith(f"pip install 'plugit3[{extras}]'\n"), result.stderr


def test_the_new_service_hints_work_word_for_word(sdk_venv: Venv, tmp_path: Path) -> None:
    printed = sdk_venv.ok("plugit new service hello", cwd=tmp_path)
    next_steps, proxy_steps = printed.split("\nNext:\n")[1].split("\n\n")
    hints = [line.split("#")[0].strip() for line in next_steps.splitlines()]
    assert hints == [
        "cd hello",
        "pip install -e '.[test]'",
        "python -m pytest",
        "plugit serve service:service --port 5000",
    ]
    cwd = tmp_path
    for hint in hints:
        if hint.startswith("cd "):
            cwd = cwd / hint.removeprefix("cd ")
        elif hint.startswith("plugit serve "):
            with serving(sdk_venv, hint, cwd=cwd) as url:
                assert httpx.get(f"{url}/meta/", timeout=10).json()["template_tag"] is not None
        else:
            output = sdk_venv.ok(hint, cwd=cwd, timeout=INSTALL_TIMEOUT)
            if hint == "python -m pytest":
                assert re.search(r"\b4 passed\b", output), output
    # The browsing hints need the proxy extra: without it, each says what to install.
    assert "install the proxy (pip install 'plugit3[proxy]')" in proxy_steps
    browse = [
        line.split("#")[0].strip() for line in proxy_steps.splitlines() if line.startswith("  ")
    ]
    assert browse == ["plugit proxy --service http://127.0.0.1:5000", "plugit dev"]
    for hint in browse:
        result = sdk_venv.shell(hint, cwd=cwd)
        assert result.returncode == 2, hint
        assert result.stderr.endswith("pip install 'plugit3[proxy]'\n"), result.stderr


def test_the_sdist_installs_the_plugit_command(
    distributions: Distributions, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    venv.ok(f"pip install '{distributions.sdist}'", cwd=tmp_path, timeout=INSTALL_TIMEOUT)
    assert venv.ok("plugit --version", cwd=tmp_path) == f"plugit3 {distributions.version}\n"
    assert "hello" in venv.ok("plugit new service hello", cwd=tmp_path)
    assert (tmp_path / "hello" / ".gitignore").is_file()  # package data made it into the sdist


@contextlib.contextmanager
def serving(venv: Venv, hint: str, *, cwd: Path) -> Iterator[str]:
    """Run a `plugit serve ... --port 5000` hint until the block ends; yield its URL.

    Port 5000 is the hint's; when something else on this machine holds it, a free port
    stands in (the only change to the typed command).
    """
    port = SERVICE_PORT if port_is_free(SERVICE_PORT) else free_port()
    command = hint.replace(f"--port {SERVICE_PORT}", f"--port {port}")
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=venv.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ping(process, url)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def wait_for_ping(process: subprocess.Popen[str], url: str, timeout: float = 60) -> None:
    """Return once the service answers ping; fail at once if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"plugit serve exited ({process.returncode}): {process.communicate()[1]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/ping?data=up", timeout=2).json() == {"data": "up"}:
                return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.1)
    pytest.fail(f"plugit serve did not answer on {url} within {timeout} s")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

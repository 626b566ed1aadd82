"""Start `plugit` commands as a user does, in a clean environment, and read what they print."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

STARTED_WITHIN = 90.0  # first start migrates a fresh database: slow on a busy machine
STOPPED_WITHIN = 30.0


def clean_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without stray PLUGIT_* or Django settings, plus `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLUGIT_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(PLUGIT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", COLUMNS="200")
    env.update(settings)
    return env


def plugit_command(*args: str) -> list[str]:
    """`plugit args...` with this interpreter (the one the project is installed in)."""
    return [sys.executable, "-m", "plugit", *args]


def run_to_the_end(
    args: list[str], workdir: Path, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run `plugit args...` in `workdir` until it exits (for starts that must fail)."""
    return subprocess.run(
        plugit_command(*args),
        cwd=workdir,
        env=clean_environment(workdir / "data", **settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclasses.dataclass
class Started:
    """A command that ran until it served, then was stopped: what it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def stdout_lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


@contextlib.contextmanager
def _spawned(
    args: list[str], workdir: Path, settings: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    out, err = workdir / "command.out", workdir / "command.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            plugit_command(*args),
            cwd=workdir,
            env=clean_environment(workdir / "data", **settings),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own group: the workers are stopped with it
        )
    try:
        yield process, out, err
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_and_stop(
    args: list[str], workdir: Path, ready: Callable[[str], bool], **settings: str
) -> Started:
    """Run `plugit args...` until `ready(stdout so far)` holds, then Ctrl-C it; what it said."""
    with _spawned(args, workdir, settings) as (process, out, err):
        deadline = time.monotonic() + STARTED_WITHIN
        while not ready(out.read_text()):
            if process.poll() is not None:
                pytest.fail(
                    f"`plugit {' '.join(args)}` exited with {process.returncode}:\n"
                    f"{out.read_text()}\n--- stderr ---\n{err.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"`plugit {' '.join(args)}` was not ready:\n{out.read_text()}")
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
        code = process.wait(STOPPED_WITHIN)
        return Started(code, out.read_text(), err.read_text())


def answers(url: str) -> Callable[[str], bool]:
    """A readiness test: something answers HTTP at `url` (whatever the status)."""

    def check(_: str) -> bool:
        try:
            httpx.get(url, timeout=2, trust_env=False)
        except httpx.TransportError:
            return False
        return True

    return check

"""`plugit demo` started as a user starts it: a process of its own, in its own process group."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

READY = re.compile(r"^PlugIt demo ready: (http://\S+/)$", re.MULTILINE)
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclasses.dataclass
class Demo:
    """A running `python -m plugit demo`: its process, its URL and what it printed."""

    process: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path
    url: str = ""

    @property
    def output(self) -> str:
        """Everything it printed so far, stdout then stderr."""
        return self.stdout.read_text() + "\n--- stderr ---\n" + self.stderr.read_text()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> str:
        """Wait for the ready line and return its URL; fail with the output if it never comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := READY.search(self.stdout.read_text()):
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited with {self.process.returncode}:\n{self.output}")
            time.sleep(0.05)
        pytest.fail(f"the demo was not ready within {timeout} s:\n{self.output}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Send `sig` to the demo's process group, as a terminal's Ctrl-C does; kill it if stuck."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


def processes_in_group(pgid: int) -> list[int]:
    """The live processes (zombies included) whose process group is `pgid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended while we looked
            continue
        if int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def demo_command(port: int, *extra: str) -> list[str]:
    """The command a user types, with this interpreter: `python -m plugit demo --port N`."""
    return [sys.executable, "-m", "plugit", "demo", "--port", str(port), *extra]


def demo_environment(data_dir: Path) -> dict[str, str]:
    """This environment with the demo's data in `data_dir` and no stray demo settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}
    return {**env, "PLUGIT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def running_demo(port: int, workdir: Path) -> Iterator[Demo]:
    """Start the demo in `workdir` (its own process group) and always stop it afterwards."""
    stdout, stderr = workdir / "demo.out", workdir / "demo.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        demo = Demo(_spawn(port, workdir, out, err), port, stdout, stderr)
    try:
        yield demo
    finally:
        if demo.process.poll() is None:
            demo.stop()


def _spawn(port: int, workdir: Path, out: IO[bytes], err: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        demo_command(port),
        cwd=workdir,
        env=demo_environment(workdir / "data"),
        stdout=out,
        stderr=err,
        start_new_session=True,  # its own process group: stopped as a whole, never orphaned
    )


@pytest.fixture
def start_demo(tmp_path: Path, free_port: Callable[..., int]) -> Iterator[Callable[[], Demo]]:
    """`start_demo()`: a ready demo on a free port with a fresh data directory."""
    with contextlib.ExitStack() as stack:

        def start() -> Demo:
            demo = stack.enter_context(running_demo(free_port(), tmp_path))
            demo.wait_ready()
            return demo

        yield start

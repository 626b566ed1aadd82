"""`plugit dev` and `plugit serve --reload` run as a user runs them: real processes, polled.

Each command starts in its own process group, as a terminal's foreground job: `interrupt()`
sends that group SIGINT, as Ctrl-C does. The processes a command started are followed in
/proc (their parent chain), so a test can tell that stopping left nothing running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

READY = re.compile(r"^PlugIt dev ready: (http://\S+)$", re.MULTILINE)
START_TIMEOUT = 180.0  # a first proxy start creates its database, on a loaded machine
CHANGE_TIMEOUT = 60.0  # a reload: the watcher notices, the service restarts
STOP_TIMEOUT = 30.0


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without PLUGIT_* settings (the tests' own), unbuffered output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "PIAPI_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@dataclasses.dataclass
class Command:
    """A running command: its process, and its output in two files."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def output(self) -> str:
        """Everything it printed so far, stdout then stderr."""
        return self.stdout.read_text() + "\n--- stderr ---\n" + self.stderr.read_text()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until stdout matches `pattern`; fail with the output if it exits or is late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := pattern.search(self.stdout.read_text()):
                return match
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"{pattern.pattern!r} not printed within {timeout} s:\n{self.output}")

    def family(self) -> set[int]:
        """The command's process and every process it started, still alive (or zombie)."""
        return descendants(self.process.pid) | {self.process.pid}

    def interrupt(self, timeout: float = STOP_TIMEOUT) -> int:
        """Ctrl-C: SIGINT to the command's process group; return its exit code."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)


@contextlib.contextmanager
def running(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], logs: Path
) -> Iterator[Command]:
    """Run `argv` in `cwd` in its own process group; whatever happens, stop it and its own.

    Its output goes to `logs`.out and `logs`.err.
    """
    stdout, stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )
    command = Command(process, stdout, stderr)
    try:
        yield command
    finally:
        left = command.family()
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                command.interrupt()
        for pid in left | command.family():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def descendants(pid: int) -> set[int]:
    """The live processes (zombies included) below `pid`, from /proc's parent links."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended while we looked
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def still_running(pids: set[int], timeout: float = STOP_TIMEOUT) -> set[int]:
    """Those of `pids` still running after `timeout` (a zombie has ended: it only awaits its
    parent's wait, or a container's init that never waits)."""
    deadline = time.monotonic() + timeout
    while True:
        left = {pid for pid in pids if _state(pid) not in {"", "Z", "X"}}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _state(pid: int) -> str:
    """The process's state letter from /proc ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def poll_until(
    fetch: Callable[[], str], wanted: Callable[[str], bool], timeout: float = CHANGE_TIMEOUT
) -> str:
    """Call `fetch` until `wanted` is true of its text (a failed fetch is a retry)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = fetch()
            if wanted(last):
                return last
        time.sleep(0.25)
    raise AssertionError(f"not seen within {timeout} s; last answer:\n{last[:2000]}")

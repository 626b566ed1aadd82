"""What the benchmarks share: free ports, server processes, signing in, reading wrk's report."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, child: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return once `url` answers 200; stop the benchmark if `child` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {child.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url}")


@contextlib.contextmanager
def process(
    command: list[str],
    probe: str,
    env: dict[str, str] | None = None,
    *,
    cwd: str | Path | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends; wait until `probe` answers 200.

    The child leads its own process group, so that its workers (uvicorn's, node:cluster's)
    are stopped with it. Its output goes to `log` when given, else nowhere.
    """
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("ab")) if log else subprocess.DEVNULL
        child = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(probe, child)
            yield child
        finally:
            _stop_group(child)


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)
    # a worker that outlived its leader is still in the group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


def browser_cookies(base: str, mode: str, page: str = "/plugIt/page") -> str:
    """Sign in as the simulated user `mode`, open `page`; give that browser's Cookie header."""
    cookies: dict[str, str] = {}
    for path in (f"/plugIt/ebuio_setUser?mode={mode}", page):
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
        header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        connection.request("GET", path, headers={"Cookie": header} if header else {})
        answer = connection.getresponse()
        answer.read()
        for value in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        connection.close()
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def rotated(names: list[str], turn: int) -> list[str]:
    """The order of round `turn`: rotated by one each round, reversed every other round."""
    shift = turn % len(names)
    turned = names[shift:] + names[:shift]
    return turned if turn % 2 == 0 else turned[::-1]


def parse_wrk(text: str, url: str, *, errors_allowed: bool = False) -> dict[str, float]:
    """Read req/s, p50/p99/max latency (ms) and the error counts from wrk's report."""
    if not errors_allowed and ("Non-2xx" in text or "Socket errors" in text):
        raise SystemExit(f"wrk saw errors against {url}:\n{text}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", text)
    assert found, text
    result = {"rps": float(found.group(1))}
    for name, pct in (("p50_ms", "50"), ("p99_ms", "99")):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\b", text, re.MULTILINE)
        assert match, text
        result[name] = float(match.group(1)) * _UNITS[match.group(2)]
    # "Latency  avg  stdev  max  +/- stdev": the third figure is the max.
    line = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", text)
    assert line, text
    result["max_ms"] = float(line.group(1)) * _UNITS[line.group(2)]
    if errors_allowed:
        total = re.search(r"(\d+) requests in", text)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        timeouts = re.search(r"timeout (\d+)", text)
        result["requests"] = float(total.group(1)) if total else 0.0
        result["non_2xx"] = float(non_2xx.group(1)) if non_2xx else 0.0
        result["timeouts"] = float(timeouts.group(1)) if timeouts else 0.0
    return result

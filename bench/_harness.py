"""What the benchmarks share: free ports, waiting for a server, reading wrk's report."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request

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

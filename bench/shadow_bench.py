"""What a hung shadow version costs the real pages: nothing, measured.

One SDK service (`plugit serve`), a server that accepts connections and never answers (the
hung shadow), and two standalone proxies (`plugit proxy`, 2 workers each) in front of the
same service, run as real subprocesses on free ports:

    no-shadow    --service S
    hung-shadow  --service S --version next=HUNG --shadow next: every page's action call
                 is copied to the hung server after the page is answered

Health probes and ejection are off (PLUGIT_HEALTH_INTERVAL=0, PLUGIT_EJECT_AFTER=0), so the
copies really hang (until PLUGIT_SHADOW_TIMEOUT) instead of being refused once the shadow is
ejected. wrk (-t2, --latency) loads /plugIt/page on both proxies in interleaved rounds (the
order alternates); each ratio compares the same round. The copies' fate (sent and timed
out, or dropped beyond PLUGIT_SHADOW_IN_FLIGHT) is read from the proxy's database.

    python bench/shadow_bench.py                       # ~1 minute
    python bench/shadow_bench.py --rounds 5 --duration 8 --connections 32
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from _harness import free_port, parse_wrk, process, rotated

SERVICE = """
from plugit import Service
from plugit.utils import public

service = Service(root=__import__("os").path.dirname(__file__))


@service.action("/page", template="page.html")
@public()
def page(request):
    return {"items": list(range(20))}
"""
TEMPLATE = (
    '{% extends "plugIt/base.html" %}{% block content %}<ul>{% for i in items %}'
    "<li>{{ i }}</li>{% endfor %}</ul>{% endblock %}"
)
SECRET = "bench-only-secret-key-" + "x" * 40


def hung_server() -> str:
    """Accept connections, hold them, never answer; give the base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            connection, _ = listener.accept()
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/"


def start_proxy(stack: contextlib.ExitStack, service: str, data: Path, extra: list[str]) -> str:
    port = free_port()
    command = [sys.executable, "-m", "plugit", "proxy", "--service", service, "--port", str(port)]
    command += ["--workers", "2", "--menu-action", "", "--data-dir", str(data), *extra]
    env = {
        "PLUGIT_SECRET_KEY": SECRET,
        "PLUGIT_HEALTH_INTERVAL": "0",
        "PLUGIT_EJECT_AFTER": "0",
        "PLUGIT_UPSTREAM_BREAKER_FAILURES": "0",
        "PLUGIT_SHADOW_TIMEOUT": "5",
    }
    base = f"http://127.0.0.1:{port}"
    stack.enter_context(process(command, base + "/plugIt/page", env))
    return base


def wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout, url)


def copies_of(data: Path) -> dict[str, int]:
    """The shadow counts the hung-shadow proxy wrote (summed over routes)."""
    with contextlib.closing(sqlite3.connect(data / "db.sqlite3")) as db:
        row = db.execute(
            "SELECT SUM(copies), SUM(answered), SUM(failures), SUM(dropped) "
            "FROM plugit_registry_shadowroute"
        ).fetchone()
    return dict(
        zip(("copies", "answered", "failures", "dropped"), (v or 0 for v in row), strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shadow-bench-"))
    (work / "service" / "templates").mkdir(parents=True)
    (work / "service" / "app.py").write_text(SERVICE)
    (work / "service" / "templates" / "page.html").write_text(TEMPLATE)
    with contextlib.ExitStack() as stack:
        port = free_port()
        command = [sys.executable, "-m", "plugit", "serve", "app:service", "--port", str(port)]
        service = f"http://127.0.0.1:{port}"
        stack.enter_context(process(command, service + "/ping", cwd=work / "service"))
        hung = hung_server()
        urls = {
            "no-shadow": start_proxy(stack, service, work / "plain", []),
            "hung-shadow": start_proxy(
                stack, service, work / "shadowed", ["--version", f"next={hung}", "--shadow", "next"]
            ),
        }
        for url in urls.values():
            wrk(url + "/plugIt/page", 2, args.connections)  # warm-up
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        for turn in range(args.rounds):
            for name in rotated(list(urls), turn):
                runs[name].append(wrk(urls[name] + "/plugIt/page", args.duration, args.connections))
        report(runs)
    print("hung-shadow copies:", copies_of(work / "shadowed"))


def report(runs: dict[str, list[dict[str, float]]]) -> None:
    print(f"{'target':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  (medians of rounds)")
    for name, results in runs.items():
        rps = statistics.median(r["rps"] for r in results)
        p50 = statistics.median(r["p50_ms"] for r in results)
        p99 = statistics.median(r["p99_ms"] for r in results)
        print(f"{name:<12} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f}")
    pairs = list(zip(runs["hung-shadow"], runs["no-shadow"], strict=True))
    throughput = statistics.median(h["rps"] / n["rps"] for h, n in pairs)
    p50 = statistics.median(h["p50_ms"] / n["p50_ms"] for h, n in pairs)
    p99 = statistics.median(h["p99_ms"] / n["p99_ms"] for h, n in pairs)
    print(f"hung-shadow / no-shadow: throughput x{throughput:.2f}, p50 x{p50:.2f}, p99 x{p99:.2f}")


if __name__ == "__main__":
    main()

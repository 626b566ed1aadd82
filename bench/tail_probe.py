"""Why a loaded proxy's p99 strays from its p50: the evidence from inside the process.

Runs `plugit proxy --workers 1` in front of the Node service of compose_bench.py, in a process
that also records, while wrk loads the composed page:

* the event loop's lag: a task asks to wake every 5 ms and notes how late it woke (a long lag
  means some callback held the loop: a render, a blocking call, a GC pause);
* every garbage collection: generation and pause;
* the time each request spends inside the ASGI application (from the call to the body's last
  byte), to be set beside wrk's latency: what the application does not explain was spent
  waiting outside it (the loop busy with other requests, the socket, the kernel).

    .venv/bin/python bench/tail_probe.py                       # c=64, 8 s
    .venv/bin/python bench/tail_probe.py --connections 16 --duration 5

Prints the figures; it writes no file (the servers' output goes to bench/results/).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import browser_cookies, free_port, parse_wrk, process
from compose_bench import start_node_service

RESULTS = Path(__file__).parent / "results"

# Runs inside the proxy's process: the monitors, then the proxy's own command line.
PROBE = r"""
import asyncio, gc, json, sys, time
import uvicorn.config, uvicorn.server

report_path = sys.argv.pop(1)
lags, pauses, inside = [], [], []
started = [0.0]

def on_gc(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        pause = time.perf_counter() - started[0]
        generation = info["generation"]
        # the oldest generation's size (beyond the frozen heap) says what a full pass walks
        walked = len(gc.get_objects(2)) if generation == 2 else 0
        pauses.append((generation, pause, walked, gc.get_freeze_count()))

gc.callbacks.append(on_gc)

async def watch_loop():
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append(time.perf_counter() - before - 0.005)

def timed(app):
    async def application(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        begun = time.perf_counter()
        async def sending(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                inside.append(time.perf_counter() - begun)
        return await app(scope, receive, sending)
    return application

def write():
    with open(report_path, "w") as out:
        json.dump({"lags": lags, "pauses": pauses, "inside": inside}, out)

serve = uvicorn.server.Server._serve

async def serve_watched(self, sockets=None):
    task = asyncio.get_running_loop().create_task(watch_loop())
    try:
        return await serve(self, sockets)
    finally:
        task.cancel()
        write()  # inside the signal capture: uvicorn re-raises SIGTERM once out of it

uvicorn.server.Server._serve = serve_watched
load = uvicorn.config.Config.load

def load_timed(self):
    load(self)
    self.loaded_app = timed(self.loaded_app)

uvicorn.config.Config.load = load_timed

from plugit.cli import main
sys.exit(main())
"""


def quantiles(values: list[float]) -> str:
    """p50, p99, p99.9 and max, in ms."""
    if not values:
        return "none"
    ordered = sorted(values)
    picks = [ordered[min(len(ordered) - 1, int(len(ordered) * q))] for q in (0.5, 0.99, 0.999)]
    return " ".join(
        f"{label} {1e3 * value:.1f}"
        for label, value in zip(("p50", "p99", "p99.9", "max"), (*picks, ordered[-1]), strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    logs = RESULTS / "tail_probe-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix="plugit-tail-probe-"))
        report = Path(work) / "report.json"
        service = start_node_service(stack, logs)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-c", PROBE, str(report), "proxy", "--service", service.base]
        command += ["--port", str(port), "--workers", "1", "--menu-action", "", "--no-proxy-mode"]
        env = {
            "PLUGIT_DATA_DIR": work,
            "PLUGIT_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        }
        with process(command, base + "/plugIt/page", env, log=logs / "proxy.log"):
            cookie = browser_cookies(base, "mem")
            url = base + "/plugIt/page"
            wrk = ["wrk", "-t2", f"-c{args.connections}", "--latency", "--timeout", "10s"]
            wrk += ["-H", f"Cookie: {cookie}"]
            subprocess.run([*wrk, "-d2s", url], capture_output=True, check=True)  # warm-up
            done = subprocess.run(
                [*wrk, f"-d{args.duration}s", url], capture_output=True, text=True, check=True
            )
        figures = parse_wrk(done.stdout, url)
        found = json.loads(report.read_text())
    print(f"wrk c={args.connections}: {figures}")
    print(f"inside the application (ms): {quantiles(found['inside'])}")
    print(f"event-loop lag (ms):         {quantiles(found['lags'])}")
    by_generation: dict[int, list[float]] = {}
    for generation, pause, walked, frozen in found["pauses"]:
        by_generation.setdefault(generation, []).append(pause)
        if generation == 2:
            print(
                f"  full collection: {1e3 * pause:.1f} ms, {walked} objects in the oldest "
                f"generation, {frozen} frozen"
            )
    for generation, pauses in sorted(by_generation.items()):
        print(f"gc gen{generation}: {len(pauses)} pauses, (ms) {quantiles(pauses)}")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

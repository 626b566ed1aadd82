"""What the SDK costs per request, against the same handler as a bare Starlette endpoint.

Four targets, each served by uvicorn (1 worker, httptools, uvloop when installed, no access
log) in its own process on a free port:

    sdk-async   Service + @service.action("/hello"), async def -> {"hello": "world"}
    bare-async  Starlette Route("/action/hello"), async def -> JSONResponse(...)
    sdk-sync    the same with a plain def (run in the thread pool)
    bare-sync   the same with a plain def (Starlette runs it in the thread pool too)

Each target is warmed up, then SDK and bare targets are measured in interleaved rounds
(A, B, A, B, ...) so that machine noise hits both alike. The load comes from `wrk` (see
bench/setup.sh), or from a built-in aiohttp load generator when wrk is missing.

    python bench/sdk_overhead.py                 # ~1 minute
    python bench/sdk_overhead.py --rounds 5 --duration 5 --connections 64

Prints a table and writes bench/results/sdk_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _harness import free_port, parse_wrk, wait_for

RESULTS = Path(__file__).parent / "results" / "sdk_overhead.json"
PATH = "/action/hello"
TARGET_LIMIT = 1.25
PAIRS = (("sdk-async", "bare-async"), ("sdk-sync", "bare-sync"))


# -- the apps under test ------------------------------------------------------------------------
def build_app(kind: str) -> Any:
    """The ASGI app for a target name."""
    family, style = kind.split("-")
    if family == "sdk":
        from plugit import Service, Settings

        service = Service("bench", root=".", settings=Settings(allowed_networks=("127.0.0.1/32",)))
        if style == "async":

            @service.action("/hello")
            async def hello_async(request: Any) -> dict[str, str]:
                return {"hello": "world"}
        else:

            @service.action("/hello")
            def hello_sync(request: Any) -> dict[str, str]:
                return {"hello": "world"}

        return service

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def bare_async(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    def bare_sync(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    endpoint = bare_async if style == "async" else bare_sync
    return Starlette(routes=[Route(PATH, endpoint)])


def serve(kind: str, port: int) -> None:
    """Serve one target until killed (runs in the child process)."""
    import uvicorn

    uvicorn.run(
        build_app(kind),
        host="127.0.0.1",
        port=port,
        workers=1,
        http="httptools",
        loop="uvloop" if _has("uvloop") else "asyncio",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )


# -- servers --------------------------------------------------------------------------------
def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def running(kind: str) -> Iterator[str]:
    """Start a target in a subprocess; yield its URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{PATH}"
    try:
        wait_for(url, process, timeout=15)
        yield url
    finally:
        process.terminate()
        process.wait(10)


# -- load generators ------------------------------------------------------------------------


def wrk(url: str, duration: float, connections: int) -> dict[str, float]:
    """Load `url` with wrk; req/s and p50/p99 latency in ms."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(done.stdout, url)


def python_load(url: str, duration: float, connections: int) -> dict[str, float]:
    """Fallback load generator: `connections` aiohttp workers in a loop (slower than wrk)."""
    import aiohttp

    async def run() -> list[float]:
        latencies: list[float] = []
        deadline = time.perf_counter() + duration
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    async with session.get(url) as answer:
                        await answer.read()
                        if answer.status != 200:
                            raise SystemExit(f"{url} answered {answer.status}")
                    latencies.append((time.perf_counter() - started) * 1000)

            await asyncio.gather(*(worker() for _ in range(connections)))
        return latencies

    latencies = sorted(asyncio.run(run()))
    return {
        "rps": len(latencies) / duration,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
    }


# -- the benchmark --------------------------------------------------------------------------
def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up every target, then run interleaved rounds; return the summary."""
    load = wrk if shutil.which("wrk") else python_load
    if load is python_load:
        print("wrk not found (install it with bench/setup.sh); using the aiohttp fallback")
    kinds = [kind for pair in PAIRS for kind in pair]
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with contextlib.ExitStack() as stack:
        urls = {kind: stack.enter_context(running(kind)) for kind in kinds}
        for kind in kinds:
            load(urls[kind], args.warmup, args.connections)
        for round_number in range(args.rounds):
            for sdk, bare in PAIRS:
                order = (sdk, bare) if round_number % 2 == 0 else (bare, sdk)
                for kind in order:
                    samples[kind].append(load(urls[kind], args.duration, args.connections))
            print(f"round {round_number + 1}/{args.rounds} done", flush=True)
    return summarise(samples, args, load.__name__)


def summarise(
    samples: dict[str, list[dict[str, float]]], args: argparse.Namespace, generator: str
) -> dict[str, Any]:
    """Medians per target and the SDK/bare time-per-request ratio per handler style."""
    targets = {
        kind: {key: statistics.median(s[key] for s in runs) for key in ("rps", "p50_ms", "p99_ms")}
        for kind, runs in samples.items()
    }
    ratios = {}
    for sdk, bare in PAIRS:
        # Per round, so each ratio compares two measurements taken side by side.
        per_round = [b["rps"] / s["rps"] for s, b in zip(samples[sdk], samples[bare], strict=True)]
        ratios[sdk.split("-")[1]] = {
            "median": statistics.median(per_round),
            "rounds": per_round,
        }
    return {
        "generator": generator,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "targets": targets,
        "samples": samples,
        "ratio_sdk_over_bare_time_per_request": ratios,
        "goal": TARGET_LIMIT,
    }


def print_table(summary: dict[str, Any]) -> None:
    """Print the per-target medians and the ratios."""
    print(f"\n{'target':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, values in summary["targets"].items():
        print(
            f"{kind:<12} {values['rps']:>10.0f} {values['p50_ms']:>8.2f} {values['p99_ms']:>8.2f}"
        )
    print()
    for style, ratio in summary["ratio_sdk_over_bare_time_per_request"].items():
        verdict = "ok" if ratio["median"] <= TARGET_LIMIT else "ABOVE GOAL"
        rounds = ", ".join(f"{r:.2f}" for r in ratio["rounds"])
        print(
            f"{style:<6} SDK/bare time per request: {ratio['median']:.2f}x "
            f"(goal <= {TARGET_LIMIT}x: {verdict}; rounds: {rounds})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    summary = measure(args)
    print_table(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()

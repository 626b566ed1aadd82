"""Where a proxied page's time goes: CPU microseconds per step, measured in-process.

The proxy's ASGI application is driven directly (no HTTP server in front, so uvicorn's own
cost is left out) in front of the bench service of bench/proxy_bench.py, which runs in a
subprocess on a free port. Requests carry a simulated member's cookies.

Two measurements:

* steps: requests one at a time; each step of the pipeline is timed (wall and process CPU
  time: with one request in flight, CPU time is the step's own cost; the action call's wall
  time also holds the service's answer time);
* throughput: `--concurrency` requests in flight, the process's CPU time per request, i.e.
  the ceiling of one worker on one core with no HTTP server.

    python bench/proxy_profile.py                          # the composed page
    python bench/proxy_profile.py --path /plugIt/cached    # a page-cache hit
    python bench/proxy_profile.py --cprofile 30            # also the top 30 functions
    python bench/proxy_profile.py --cache locmem           # a per-process cache instead

Prints the tables; it writes no file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import proxy_bench

# (module, attribute): the steps of one page, as the pipeline calls them.
STEPS = (
    ("plugit_proxy.pipeline.handler.PageHandler", "open_page"),
    ("plugit_proxy.pipeline.handler", "route_version"),
    ("plugit_proxy.pipeline.page", "get_meta"),
    ("plugit_proxy.pipeline.page", "check_access"),
    ("plugit_proxy.pipeline.page", "user_params"),
    ("plugit_proxy.pipeline.page", "page_cache_key"),
    ("plugit_proxy.pipeline.page", "cached_page"),
    ("plugit_proxy.pipeline.page", "call_action"),
    ("plugit_proxy.pipeline.page", "answer_json"),
    ("plugit_proxy.pipeline.page", "_run_action"),
    ("plugit_proxy.pipeline.page", "get_template"),
    ("plugit_proxy.pipeline.render", "page_context"),
    ("plugit_proxy.pipeline.page", "render_action"),
    ("plugit_proxy.pipeline.page", "store_page"),
    ("plugit_proxy.pipeline.page", "_html"),
    ("plugit_proxy.sessions.SessionManager", "save"),
    ("starlette.responses.Response", "__call__"),
)
# Steps timed inside another one (not added to the total of the top-level steps).
NESTED = {"call_action", "answer_json", "page_context", "user_params"}


class Timings:
    """Wall and CPU time per step, summed over the measured requests."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False
        self.overhead = (0.0, 0.0)  # wall and CPU seconds the timing itself adds per call

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(func):

            @functools.wraps(func)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._add(name, wall, cpu)

            return timed_async

        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                self._add(name, wall, cpu)

        return timed

    def _add(self, name: str, wall: float, cpu: float) -> None:
        if self.on:
            self.wall[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() - cpu
            self.calls[name] += 1

    def calibrate(self, calls: int = 20000) -> None:
        """Measure what timing a call costs (clock reads are system calls on some VMs)."""
        timed = self.wrap("calibration", lambda: None)
        self.on = True
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            timed()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.on = False
        self.overhead = (wall / calls, cpu / calls)
        for table in (self.wall, self.cpu, self.calls):
            del table["calibration"]

    def step(self, name: str, requests: int) -> tuple[float, float]:
        """Give a step's wall and CPU µs per request, the timing's own cost taken out."""
        calls = self.calls[name]
        wall = self.wall[name] - calls * self.overhead[0]
        cpu = self.cpu[name] - calls * self.overhead[1]
        return 1e6 * wall / requests, 1e6 * cpu / requests


def instrument(timings: Timings) -> None:
    """Wrap every step of STEPS where the pipeline looks it up."""
    import importlib

    for where, name in STEPS:
        module_name, _, cls = where.rpartition(".")
        try:
            owner: Any = getattr(importlib.import_module(module_name), cls)
        except (ImportError, AttributeError):
            owner = importlib.import_module(where)
        original = getattr(owner, name, None)
        if original is None:
            print(f"(no step {where}.{name} to time)")
            continue
        setattr(owner, name, timings.wrap(name, original))


# -- driving the ASGI application -----------------------------------------------------------
def scope_for(path: str, cookie: str) -> dict[str, Any]:
    target, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"proxy_profile"),
            (b"accept", b"text/html"),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Any, path: str, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    """Call the application once; give the status, the Set-Cookie values and the body."""
    answer: dict[str, Any] = {"body": b"", "cookies": {}}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            for name, value in message["headers"]:
                if name == b"set-cookie":
                    key, _, rest = value.decode().partition("=")
                    answer["cookies"][key] = rest.split(";", 1)[0]
        else:
            answer["body"] += message.get("body", b"")

    await app(scope_for(path, cookie), receive, send)
    return answer["status"], answer["cookies"], answer["body"]


async def sign_in(app: Any, mode: str) -> str:
    cookies: dict[str, str] = {}
    for path in (f"/plugIt/ebuio_setUser?mode={mode}", "/plugIt/page"):
        header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        _, found, _ = await call(app, path, header)
        cookies.update(found)
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def run(args: argparse.Namespace, service: str) -> None:
    from plugit_proxy.asgi import build_application
    from plugit_proxy.cache import DiskCache, LocMemCache
    from plugit_proxy.config import Project, ProxyConfig, UpstreamConfig

    timings = Timings()
    instrument(timings)
    project = Project(
        key="standalone",
        name="PlugIt",
        mount="/plugIt/",
        service_urls=(service,),
        menu_action=args.menu or None,
    )
    upstream = UpstreamConfig(timeout=proxy_bench.UPSTREAM_TIMEOUT)
    config = ProxyConfig(upstream=upstream, projects=(project,))
    cache: Any = LocMemCache("profile", {})
    if args.cache == "disk":  # the embedded default: one cache for every worker process
        folder = Path(os.environ["PLUGIT_DATA_DIR"]) / "profile-cache"
        cache = DiskCache(str(folder), {"OPTIONS": {"size_limit": 256 * 2**20}})
    app = build_application(config, cache=cache)
    await app.startup()
    try:
        cookie = await sign_in(app, args.user)
        status, _, body = await call(app, args.path, cookie)
        print(f"{args.path}: HTTP {status}, {len(body)} bytes")
        for _ in range(200):
            await call(app, args.path, cookie)
        await steps(app, args, cookie, timings)
        hung = [asyncio.create_task(keep_asking(app, cookie)) for _ in range(args.hung)]
        await throughput(app, args, cookie)
        for task in hung:
            task.cancel()
        await asyncio.gather(*hung, return_exceptions=True)
    finally:
        await app.shutdown()


async def steps(app: Any, args: argparse.Namespace, cookie: str, timings: Timings) -> None:
    """Time each step, one request at a time."""
    timings.calibrate()
    timings.on = True
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        await call(app, args.path, cookie)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    timings.on = False
    count = args.requests
    print(f"\none request at a time ({count} requests): µs per request")
    print(f"{'step':<16} {'wall':>8} {'cpu':>8}")
    for name in dict.fromkeys(name for _, name in STEPS):
        if name not in timings.wall:
            continue
        label = ("  " if name in NESTED else "") + name
        step_wall, step_cpu = timings.step(name, count)
        print(f"{label:<16} {step_wall:>8.0f} {step_cpu:>8.0f}")
    calls = sum(timings.calls.values())
    timing_wall, timing_cpu = (1e6 * calls * cost / count for cost in timings.overhead)
    top = [timings.step(name, count) for name in timings.wall if name not in NESTED]
    other_wall = 1e6 * wall / count - timing_wall - sum(w for w, _ in top)
    other_cpu = 1e6 * cpu / count - timing_cpu - sum(c for _, c in top)
    print(f"{'other':<16} {other_wall:>8.0f} {other_cpu:>8.0f}")
    print(f"{'(timing itself)':<16} {timing_wall:>8.0f} {timing_cpu:>8.0f}")
    print(f"{'total':<16} {1e6 * wall / count:>8.0f} {1e6 * cpu / count:>8.0f}")


class GcPauses:
    """The garbage collector's pauses per generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = defaultdict(list)
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def report(self, requests: int) -> str:
        return "; ".join(
            f"gen{gen}: {len(p)} pauses ({1e6 * sum(p) / requests:.0f} µs per request, "
            f"max {1e3 * max(p):.1f} ms)"
            for gen, p in sorted(self.pauses.items())
        )


async def keep_asking(app: Any, cookie: str) -> None:
    """Ask for the hung page again and again (each answer waits for the deadline)."""
    while True:
        await call(app, "/plugIt/hang", cookie)


async def throughput(app: Any, args: argparse.Namespace, cookie: str) -> None:
    """CPU time per request with `concurrency` requests in flight (median of 3 runs)."""
    per_request = []
    pauses = GcPauses()
    # CPU time, not wall: a wall-clock profile charges a socket write with the time the
    # scheduler gave the service it woke up.
    profiler = cProfile.Profile(time.thread_time) if args.cprofile else None
    for attempt in range(3):
        queue = iter(range(args.requests))
        latencies: list[float] = []

        async def worker(queue: Any = queue, latencies: list[float] = latencies) -> None:
            for _ in queue:
                started = time.perf_counter()
                await call(app, args.path, cookie)
                latencies.append(time.perf_counter() - started)

        if profiler is not None and attempt == 2:
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None and attempt == 2:
            profiler.disable()
        per_request.append(cpu / args.requests)
        latencies.sort()
        p50, p99 = (1e3 * latencies[int(len(latencies) * q)] for q in (0.5, 0.99))
        print(
            f"{args.concurrency} in flight: {1e6 * cpu / args.requests:.0f} µs CPU per request, "
            f"{args.requests / wall:.0f} req/s in this process, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
    total = 3 * args.requests
    print(f"garbage collector over {total} requests: {pauses.report(total)}")
    best = statistics.median(per_request)
    print(f"median: {1e6 * best:.0f} µs CPU per request -> at most {1 / best:.0f} req/s per core")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.cprofile)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
        for pattern in args.callers:
            stats.print_callers(pattern)
        for pattern in args.callees:
            stats.print_callees(pattern)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default="/plugIt/page")
    parser.add_argument("--menu", default="", help="menu action ('' for none)")
    parser.add_argument("--user", default="mem")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N functions")
    parser.add_argument(
        "--callers",
        action="append",
        default=[],
        metavar="PATTERN",
        help="with --cprofile: also who calls the functions matching PATTERN (a regex)",
    )
    parser.add_argument(
        "--callees",
        action="append",
        default=[],
        metavar="PATTERN",
        help="with --cprofile: also what the functions matching PATTERN call (a regex)",
    )
    parser.add_argument(
        "--cache",
        choices=("disk", "locmem"),
        default="disk",
        help="the proxy's cache: disk (the embedded default, shared by workers) or locmem",
    )
    parser.add_argument(
        "--hung", type=int, default=0, help="requests for the hung page kept in flight meanwhile"
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="'NAME = VALUE'",
        help="a Django setting for the proxy, to measure a what-if (e.g. 'USE_I18N = False')",
    )
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="plugit-proxy-profile-")
    os.environ.setdefault("PLUGIT_DATA_DIR", work)
    for name, value in proxy_bench.settings_overrides(work, args.override).items():
        os.environ[name] = value
    sys.path.insert(0, work)
    os.environ.setdefault("PLUGIT_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("PLUGIT_MAIL_BACKGROUND", "false")  # no outbox tables here
    port = proxy_bench.free_port()
    service = f"http://127.0.0.1:{port}"
    command = [sys.executable, proxy_bench.__file__, "--serve-service", str(port)]
    with proxy_bench.process([*command, "--root", work], service + "/action/page"):
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:
            runner = asyncio.run
        with contextlib.suppress(KeyboardInterrupt):
            runner(run(args, service))


if __name__ == "__main__":
    main()

"""CPU time of one action call made by the proxy's upstream client, A/B against another version.

The bench service of bench/proxy_bench.py runs in a subprocess; this process makes the call a
page makes (`GET /action/page`, streamed, then buffered, then decoded as JSON) through
`plugit_proxy.upstream.Upstream`, one call at a time, and reports the process's CPU time per
call (the service's time is in the other process). With `--against FILE` (an older
upstream.py, e.g. `git show HEAD~1:src/plugit_proxy/upstream.py > /tmp/upstream_before.py`)
both versions are measured in interleaved rounds in the same process, so that a busy machine
slows both alike.

    python bench/upstream_bench.py --against /tmp/upstream_before.py

Prints one line per version (best and median of the rounds); it writes no file.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import proxy_bench


def load_version(path: str) -> ModuleType:
    """Import an upstream.py from `path` as a sibling of plugit_proxy.upstream."""
    name = "plugit_proxy._upstream_under_bench"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def one_round(module: ModuleType, client: Any, service: str, calls: int) -> float:
    """CPU µs per call over `calls` calls."""
    request = module.Request(
        method="GET", url=service + "/action/page", stream=True, service=service
    )
    limits = client.config
    cpu = time.process_time()
    for _ in range(calls):
        answer = await client.send(request)
        await answer.buffer(limits.max_body, limits.timeout)
        answer.json()
    return 1e6 * (time.process_time() - cpu) / calls


async def run(args: argparse.Namespace, service: str) -> None:
    from plugit_proxy import upstream
    from plugit_proxy.config import UpstreamConfig

    versions = {"current": upstream}
    if args.against:
        versions["against"] = load_version(args.against)
    config = UpstreamConfig(timeout=proxy_bench.UPSTREAM_TIMEOUT)
    clients = {name: module.Upstream(config) for name, module in versions.items()}
    for client in clients.values():
        await client.start()
    results: dict[str, list[float]] = {name: [] for name in versions}
    try:
        for name, module in versions.items():  # warm the pools
            await one_round(module, clients[name], service, 50)
        for _ in range(args.rounds):
            for name, module in versions.items():
                results[name].append(await one_round(module, clients[name], service, args.calls))
    finally:
        for client in clients.values():
            await client.aclose()
    for name, values in results.items():
        print(
            f"{name:<8} best {min(values):6.0f} µs CPU per call, "
            f"median {statistics.median(values):6.0f} ({args.rounds} rounds x {args.calls})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="", help="another upstream.py to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="plugit-upstream-bench-")
    os.environ.setdefault("PLUGIT_DATA_DIR", work)
    port = proxy_bench.free_port()
    service = f"http://127.0.0.1:{port}"
    command = [sys.executable, proxy_bench.__file__, "--serve-service", str(port), "--root", work]
    with proxy_bench.process(command, service + "/action/page"):
        try:
            import uvloop

            uvloop.run(run(args, service))
        except ImportError:
            asyncio.run(run(args, service))


if __name__ == "__main__":
    main()

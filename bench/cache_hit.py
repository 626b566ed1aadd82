"""What a cache hit costs: `aget` on the embedded DiskCache against the in-process LocMemCache.

A page-cache hit reads the cache twice (the meta, then the rendered page); a composed page
reads it twice too (meta and template). This measures one `await cache.aget(key)` per value
the pipeline keeps, on the proxy's own backends (`plugit_proxy.cache`), in one process:

    meta      a meta dict (pickled), as the pipeline keeps it
    page-7k   a rendered page of 7.4 KB (text)
    page-100k a rendered page of 100 KB (kept in a file of its own by diskcache)
    miss      a key that is not there

Rounds interleave the two backends so machine noise hits both. With `--writer` (the default)
a second process writes to the same disk cache all along, as another worker storing pages
would: a read must not wait for it.

    .venv/bin/python bench/cache_hit.py                   # ~20 s
    .venv/bin/python bench/cache_hit.py --rounds 9 --gets 50000 --no-writer

Prints µs per `aget` (median of rounds) and the ratio DiskCache / LocMemCache; writes
bench/results/cache_hit.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "cache_hit.json"
OPTIONS = {"OPTIONS": {"size_limit": 256 * 2**20}}
META = {
    "template_tag": "0" * 32,
    "cache_time": 600,
    "cache_by_user": False,
    "public": True,
    "user_info": ["username", "email"],
}
VALUES: dict[str, Any] = {
    "meta": META,
    "page-7k": "<div class='row'>" + "x" * 7400 + "</div>",
    "page-100k": "<div class='row'>" + "y" * 100_000 + "</div>",
}


def setup_django() -> None:
    os.environ.setdefault("PLUGIT_DATA_DIR", tempfile.mkdtemp(prefix="plugit-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
    import django

    django.setup()


def write_all_along(directory: str, stop: Any) -> None:
    """Another worker: store pages in the same disk cache until told to stop."""
    setup_django()
    from plugit_proxy.cache import DiskCache

    cache = DiskCache(directory, OPTIONS)
    number = 0
    while not stop.is_set():
        cache.set(f"other:{number % 5000}", VALUES["page-7k"], 600, retry=False)
        number += 1


async def per_get(cache: Any, key: str, gets: int) -> float:
    """µs per `await cache.aget(key)` over `gets` calls."""
    started = time.perf_counter()
    for _ in range(gets):
        await cache.aget(key)
    return (time.perf_counter() - started) / gets * 1e6


async def measure(directory: str, rounds: int, gets: int) -> dict[str, dict[str, float]]:
    from plugit_proxy.cache import DiskCache, LocMemCache

    caches = {"disk": DiskCache(directory, OPTIONS), "locmem": LocMemCache("bench", {})}
    for cache in caches.values():
        for key, value in VALUES.items():
            await cache.aset(key, value, 3600)
    keys = [*VALUES, "miss"]
    samples: dict[str, dict[str, list[float]]] = {
        name: {key: [] for key in keys} for name in caches
    }
    for key in keys:  # warm-up: connections opened, pages in the OS cache
        for cache in caches.values():
            await per_get(cache, key, 1000)
    for number in range(rounds):
        order = list(caches) if number % 2 == 0 else list(reversed(caches))
        for key in keys:
            for name in order:
                samples[name][key].append(await per_get(caches[name], key, gets))
    results: dict[str, dict[str, float]] = {}
    for key in keys:
        disk = statistics.median(samples["disk"][key])
        locmem = statistics.median(samples["locmem"][key])
        ratios = [d / m for d, m in zip(samples["disk"][key], samples["locmem"][key], strict=True)]
        results[key] = {
            "disk_us": round(disk, 2),
            "locmem_us": round(locmem, 2),
            "ratio": round(statistics.median(ratios), 2),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gets", type=int, default=20_000)
    parser.add_argument("--writer", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    setup_django()
    with tempfile.TemporaryDirectory(prefix="plugit-cache-bench-") as directory:
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        writer = None
        if args.writer:
            writer = context.Process(target=write_all_along, args=(directory, stop))
            writer.start()
        try:
            results = asyncio.run(measure(directory, args.rounds, args.gets))
        finally:
            stop.set()
            if writer is not None:
                writer.join(10)
    print(f"aget, µs (median of {args.rounds} rounds x {args.gets} gets)", end="")
    print(", another process writing all along" if args.writer else "")
    print(f"{'value':<10} {'DiskCache':>10} {'LocMem':>8} {'ratio':>6}")
    for key, row in results.items():
        print(f"{key:<10} {row['disk_us']:>10.1f} {row['locmem_us']:>8.1f} {row['ratio']:>6.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    report = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
        "gets": args.gets,
        "writer": args.writer,
        "results": results,
    }
    RESULTS.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

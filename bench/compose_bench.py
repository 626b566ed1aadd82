"""Podium beside `plugit proxy`: every figure as a ratio to Podium's composed page, same round.

The closest peer that composes pages from independent services is Podium (Node): a layout
fetches a podlet's ~2 KB fragment per request and wraps it in the site layout. The service
side is Node in both stacks, so only the composing side is compared:

    podium       Podium 5 (express): layout (1 process, or a node:cluster of N) + podlet
    composed     `plugit proxy --workers N --menu-action ""` in front of a PlugIt service in
                 plain Node (bench/node_service/plugit_service.mjs): meta and template cached,
                 the action's ~1 KB JSON rendered into bench/fixtures/page.html inside the
                 proxy's layout; no page cache
    cached       the same page with cache_time 600, shared and public: a page-cache hit
    proxy-mode   a `--proxy-mode` proxy: the service answers the fragment, the proxy wraps it
    direct       the plain Node upstream alone answering the fragment (the machine's ceiling)

Requests to the proxies carry the cookies of the simulated project member (`--user`): the
session is read and the CSRF cookie checked on every page. wrk (-t2, --latency) loads each
target after a warm-up, in interleaved rounds (the order rotates and reverses every round);
each ratio compares a target with Podium at the same concurrency and the same process count
in the same round, and the table gives the median of those per-round ratios. While wrk runs,
/proc gives the CPU of each process tree, the CPU of everything else ("foreign": noise) and
the peak RSS of every process.

    sh bench/setup.sh                                       # wrk, and npm ci in bench/podium
    .venv/bin/python bench/compose_bench.py                 # 3 rounds x 10 s, c=16 and c=64
    .venv/bin/python bench/compose_bench.py --duration 3 --rounds 1 --workers 1   # a smoke run

Prints the table and the goals of issue 9; writes bench/results/compose_bench.json and the
servers' logs to bench/results/compose_bench-logs/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _harness import browser_cookies, free_port, parse_wrk, process, rotated
from _procstat import watching

HERE = Path(__file__).parent
PODIUM = HERE / "podium"
NODE_SERVICE = HERE / "node_service"
RESULTS = HERE / "results" / "compose_bench.json"
LOGS = HERE / "results" / "compose_bench-logs"
PAGE_MARK = b'id="runs"'  # in the fragment and in the template: the page came back composed
NOISY_FOREIGN_PCT = 25  # a measurement with more CPU used by other processes is noise
GOALS = {"composed": 1.2, "cached": 4.0, "proxy-mode": 1.5, "p99_over_p50": 3.0, "rss_mb": 120}
TARGETS = ("podium", "composed", "cached", "proxy-mode", "direct")


# -- the stacks -----------------------------------------------------------------------------
@dataclass
class Running:
    """A started server: its base URL and the root pid of its process tree."""

    base: str
    pid: int


def podium_installed() -> bool:
    """Whether bench/podium's npm packages are installed (`npm ci` there)."""
    return all(
        (PODIUM / "node_modules" / "@podium" / name).is_dir() for name in ("layout", "podlet")
    )


def missing_tools() -> list[str]:
    """What the benchmark needs and this machine lacks (see bench/setup.sh)."""
    missing = [tool for tool in ("node", "wrk") if not shutil.which(tool)]
    if not podium_installed():
        missing.append("bench/podium/node_modules (npm ci)")
    return missing


def start_podium(
    stack: contextlib.ExitStack, processes: int, logs: Path
) -> tuple[Running, Running]:
    """Start the podlet and the Podium layout (`processes` of them); give the layout, podlet."""
    podlet_port, layout_port = free_port(), free_port()
    podlet = f"http://127.0.0.1:{podlet_port}"
    command = ["node", "podlet.mjs", str(podlet_port)]
    podlet_child = stack.enter_context(
        process(command, podlet + "/manifest.json", cwd=PODIUM, log=logs / "podlet.log")
    )
    base = f"http://127.0.0.1:{layout_port}"
    command = ["node", "layout.mjs", str(layout_port), str(podlet_port), str(processes)]
    log = logs / f"layout-w{processes}.log"
    layout = stack.enter_context(process(command, base + "/page", cwd=PODIUM, log=log))
    return Running(base, layout.pid), Running(podlet, podlet_child.pid)


def start_node_service(stack: contextlib.ExitStack, logs: Path) -> Running:
    """Start the PlugIt service in plain Node; give it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["node", "plugit_service.mjs", str(port)]
    log = logs / f"service-{port}.log"
    child = stack.enter_context(process(command, base + "/ping", cwd=NODE_SERVICE, log=log))
    return Running(base, child.pid)


def start_upstream(stack: contextlib.ExitStack, logs: Path) -> Running:
    """Start the plain Node upstream (no composing); give it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["node", "upstream.mjs", str(port)]
    log = logs / "upstream.log"
    child = stack.enter_context(process(command, base + "/page", cwd=NODE_SERVICE, log=log))
    return Running(base, child.pid)


def start_proxy(
    stack: contextlib.ExitStack, service: str, workers: int, *, proxy_mode: bool, logs: Path
) -> Running:
    """Start `plugit proxy --workers N` (default settings) in front of `service`; give it."""
    port = free_port()
    data = stack.enter_context(tempfile.TemporaryDirectory(prefix="plugit-compose-bench-"))
    command = [sys.executable, "-m", "plugit", "proxy", "--service", service, "--port", str(port)]
    command += ["--workers", str(workers), "--menu-action", ""]
    command += ["--proxy-mode"] if proxy_mode else ["--no-proxy-mode"]
    env = {"PLUGIT_DATA_DIR": data, "PLUGIT_SECRET_KEY": "bench-only-secret-key-" + "x" * 40}
    base = f"http://127.0.0.1:{port}"
    probe = base + ("/plugIt/pm" if proxy_mode else "/plugIt/page")
    name = f"proxy{'-pm' if proxy_mode else ''}-w{workers}.log"
    child = stack.enter_context(process(command, probe, env, log=logs / name))
    return Running(base, child.pid)


# -- targets --------------------------------------------------------------------------------
@dataclass
class Target:
    """One URL under load, the process trees that serve it, and the browser's cookies."""

    name: str
    workers: int
    url: str
    trees: dict[str, int]
    cookie: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}-w{self.workers}"


def start_targets(
    stack: contextlib.ExitStack, names: list[str], workers: list[int], user: str, logs: Path
) -> list[Target]:
    """Start every stack the targets need, sign in where it is a proxy; give the targets."""
    targets = []
    service = start_node_service(stack, logs) if set(names) - {"podium", "direct"} else None
    for count in workers:
        layout, podlet = start_podium(stack, count, logs)
        # The podlet is Podium's service, counted as the proxies' rows count theirs.
        trees = {"layout": layout.pid, "podlet": podlet.pid}
        targets.append(Target("podium", count, layout.base + "/page", trees))
        if service and ({"composed", "cached"} & set(names)):
            proxy = start_proxy(stack, service.base, count, proxy_mode=False, logs=logs)
            cookie = browser_cookies(proxy.base, user)
            trees = {"proxy": proxy.pid, "service": service.pid}
            for name, path in (("composed", "/plugIt/page"), ("cached", "/plugIt/cached")):
                if name in names:
                    targets.append(Target(name, count, proxy.base + path, trees, cookie))
        if service and "proxy-mode" in names:
            proxy = start_proxy(stack, service.base, count, proxy_mode=True, logs=logs)
            cookie = browser_cookies(proxy.base, user, page="/plugIt/pm")
            trees = {"proxy": proxy.pid, "service": service.pid}
            targets.append(Target("proxy-mode", count, proxy.base + "/plugIt/pm", trees, cookie))
    if "direct" in names:
        upstream = start_upstream(stack, logs)
        # one process, compared with Podium's smallest layout
        trees = {"upstream": upstream.pid}
        targets.append(Target("direct", min(workers), upstream.base + "/page", trees))
    return targets


def fetch(target: Target) -> bytes:
    """Ask the target once, as the load will; give the page."""
    headers = {"Cookie": target.cookie} if target.cookie else {}
    with urllib.request.urlopen(urllib.request.Request(target.url, headers=headers)) as answer:
        body: bytes = answer.read()
    if PAGE_MARK not in body:
        raise SystemExit(f"{target.key} did not answer the page at {target.url}:\n{body[:500]!r}")
    return body


# -- measuring ------------------------------------------------------------------------------
def wrk(target: Target, duration: float, connections: int) -> dict[str, float]:
    """Load one target with wrk and read its report."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}"]
    command += [f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    if target.cookie:
        command += ["-H", f"Cookie: {target.cookie}"]
    done = subprocess.run([*command, target.url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout, target.url)


def measure_once(target: Target, duration: float, connections: int) -> dict[str, Any]:
    """One measurement: wrk's figures, CPU % of each tree, wrk and foreign CPU, peak RSS."""
    with watching(target.trees) as usage:
        figures: dict[str, Any] = dict(wrk(target, duration, connections))
    figures.update(asdict(usage))
    figures["cpu_ms_per_request"] = sum(map(sum, usage.cpu_pct.values())) * 10 / figures["rps"]
    return figures


@dataclass
class Samples:
    """Every measurement: samples[connections][target key] is one dict per round."""

    by_level: dict[int, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def add(self, connections: int, key: str, figures: dict[str, Any]) -> None:
        self.by_level.setdefault(connections, {}).setdefault(key, []).append(figures)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, check each page, warm up, then measure in interleaved rounds."""
    if missing := missing_tools():
        raise SystemExit(f"missing: {', '.join(missing)}; run bench/setup.sh")
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    samples = Samples()
    with contextlib.ExitStack() as stack:
        targets = start_targets(stack, args.targets, args.workers, args.user, logs)
        sizes = {target.key: len(fetch(target)) for target in targets}
        for target in targets:
            wrk(target, args.warmup, max(args.connections))
        by_key = {target.key: target for target in targets}
        for turn in range(args.rounds):
            for connections in args.connections:
                for key in rotated(list(by_key), turn):
                    figures = measure_once(by_key[key], args.duration, connections)
                    samples.add(connections, key, figures)
                    _progress(turn, connections, key, figures)
    return summarise(samples, targets, sizes, args)


def _progress(turn: int, connections: int, key: str, figures: dict[str, Any]) -> None:
    cpu = " ".join(f"{name}={sum(pcts):.0f}%" for name, pcts in figures["cpu_pct"].items())
    print(
        f"r{turn + 1} c={connections:<3} {key:<15} {figures['rps']:>8.0f} req/s "
        f"p50 {figures['p50_ms']:.1f} ms p99 {figures['p99_ms']:.1f} ms  {cpu} "
        f"wrk={figures['wrk_pct']:.0f}% foreign={figures['foreign_pct']:.0f}%",
        flush=True,
    )


# -- summary --------------------------------------------------------------------------------
def _podium_key(target_key: str) -> str:
    return "podium-w" + target_key.rsplit("-w", 1)[1]


def _ratios(runs: list[dict[str, Any]], podium: list[dict[str, Any]], key: str) -> float:
    """The median over the rounds of `key` measured / Podium's `key` in the same round."""
    return statistics.median(float(r[key] / p[key]) for r, p in zip(runs, podium, strict=True))


def summarise(
    samples: Samples, targets: list[Target], sizes: dict[str, int], args: argparse.Namespace
) -> dict[str, Any]:
    """Per level and target: medians, and the medians of the per-round ratios to Podium."""
    levels: dict[str, Any] = {}
    for connections, runs in samples.by_level.items():
        table = {}
        for key, measured in runs.items():
            podium = runs[_podium_key(key)]
            table[key] = {
                "rps": statistics.median(m["rps"] for m in measured),
                "p50_ms": statistics.median(m["p50_ms"] for m in measured),
                "p99_ms": statistics.median(m["p99_ms"] for m in measured),
                "rps_x_podium": _ratios(measured, podium, "rps"),
                "p50_x_podium": _ratios(measured, podium, "p50_ms"),
                "p99_x_podium": _ratios(measured, podium, "p99_ms"),
                "p99_over_p50": statistics.median(m["p99_ms"] / m["p50_ms"] for m in measured),
                "cpu_per_request_x_podium": _ratios(measured, podium, "cpu_ms_per_request"),
                "cpu_pct": {
                    tree: statistics.median(sum(m["cpu_pct"][tree]) for m in measured)
                    for tree in measured[0]["cpu_pct"]
                },
                "rss_peak_mb": _peaks(measured),
                "wrk_pct": statistics.median(m["wrk_pct"] for m in measured),
                "foreign_pct": statistics.median(m["foreign_pct"] for m in measured),
            }
        levels[str(connections)] = table
    return {
        "generator": "wrk -t2 --latency",
        "connections": args.connections,
        "workers": args.workers,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "user": args.user,
        "page_bytes": sizes,
        "python": platform.python_version(),
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "levels": levels,
        "goals": goal_verdicts(levels),
        "samples": {str(c): runs for c, runs in samples.by_level.items()},
    }


def _peaks(measured: list[dict[str, Any]]) -> dict[str, list[float]]:
    """The peak RSS of each process of each tree over the rounds (by position in the tree)."""
    peaks: dict[str, list[float]] = {}
    for m in measured:
        for tree, values in m["rss_peak_mb"].items():
            known = peaks.setdefault(tree, [])
            for index, value in enumerate(values):
                if index < len(known):
                    known[index] = max(known[index], value)
                else:
                    known.append(value)
    return peaks


def goal_verdicts(levels: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 9's goals, each with the figure it was judged on and met or missed."""
    verdicts = []

    def check(text: str, value: float, met: bool) -> None:
        verdicts.append({"goal": text, "value": round(value, 2), "met": met})

    for connections, table in levels.items():
        for key, row in table.items():
            name, workers = key.rsplit("-w", 1)
            where = f"c={connections}, {workers} process{'es' if workers != '1' else ''}"
            if name in ("composed", "cached", "proxy-mode"):
                goal = GOALS[name]
                rps, p99, tail = row["rps_x_podium"], row["p99_x_podium"], row["p99_over_p50"]
                check(f"{name} >= {goal}x Podium req/s ({where})", rps, rps >= goal)
                check(f"{name} p99 <= Podium's ({where})", p99, p99 <= 1.0)
                limit = GOALS["p99_over_p50"]
                check(f"{name} p99 <= {limit}x its p50 ({where})", tail, tail <= limit)
                rss = max(row["rss_peak_mb"]["proxy"])
                text = f"{name} RSS per proxy process < {GOALS['rss_mb']} MB ({where})"
                check(text, rss, rss < GOALS["rss_mb"])
    return verdicts


def print_table(summary: dict[str, Any]) -> None:
    """Print the ratios to Podium, the measured figures, and the verdict on each goal."""
    for connections, table in summary["levels"].items():
        print(f"\n-- c={connections}: ratios to Podium's composed page (same processes, round)")
        print(f"{'target':<15} {'req/s':>7} {'p50':>7} {'p99':>7} {'CPU/req':>8} {'p99/p50':>8}")
        for key, row in table.items():
            print(
                f"{key:<15} {row['rps_x_podium']:>6.2f}x {row['p50_x_podium']:>6.2f}x "
                f"{row['p99_x_podium']:>6.2f}x {row['cpu_per_request_x_podium']:>7.2f}x "
                f"{row['p99_over_p50']:>7.1f}x"
            )
        print(f"\n   measured (medians)  c={connections}")
        for key, row in table.items():
            cpu = " ".join(f"{tree} {pct:.0f}%" for tree, pct in row["cpu_pct"].items())
            rss = " ".join(
                f"{tree} {'/'.join(f'{mb:.0f}' for mb in mbs)} MB"
                for tree, mbs in row["rss_peak_mb"].items()
            )
            noisy = "!" if row["foreign_pct"] > NOISY_FOREIGN_PCT else " "
            print(
                f" {noisy} {key:<15} {row['rps']:>8.0f} req/s  p50 {row['p50_ms']:>6.1f} ms  "
                f"p99 {row['p99_ms']:>6.1f} ms  CPU: {cpu}, wrk {row['wrk_pct']:.0f}%, "
                f"foreign {row['foreign_pct']:.0f}%  RSS: {rss}"
            )
    print(
        f"\n! foreign CPU above {NOISY_FOREIGN_PCT} %: other work shared the cores, measure "
        "again on a quiet machine"
    )
    print("\ngoals (issue 9):")
    for verdict in summary["goals"]:
        mark = "met   " if verdict["met"] else "MISSED"
        print(f"  {mark} {verdict['goal']}: {verdict['value']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per target, once")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="process counts: proxy workers and Podium layout processes",
    )
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--user", default="mem", help="simulated user mode (ano, log, mem, adm)")
    parser.add_argument("--logs", default=str(LOGS), help="folder for the servers' output")
    args = parser.parse_args()
    if "podium" not in args.targets:
        args.targets.insert(0, "podium")  # the unit of every ratio
    summary = run(args)
    print_table(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()

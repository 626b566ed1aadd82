"""What the standalone proxy costs per page, against the service's own action call.

One SDK service and three standalone proxies (`plugit proxy`, 2 workers each, the default
configuration otherwise) run as real subprocesses on free ports:

    direct       GET <service>/action/page: the action's small JSON, no proxy
    page         /plugIt/page through the proxy with --menu-action "": meta and template
                 cached, no page cache; a ~3 KB template extending plugIt/base.html
    page-menu    the same page through a proxy with the default menu action (menubar):
                 a second upstream call per page
    cached       /plugIt/cached: @cache(time=600, byUser=False) + @public, a page-cache hit
    proxy-mode   /plugIt/proxied through a proxy in proxy mode (the service answers HTML,
                 the proxy puts it in the layout)
    page+hung    `page` again while a second wrk loads /plugIt/hang, whose action sleeps
                 longer than the proxy's upstream deadline (PLUGIT_UPSTREAM_TIMEOUT)

wrk (-t2, a fixed duration, --latency) loads each target after a warm-up, in interleaved
rounds (the order rotates every round) so machine noise spreads over all targets; each ratio
compares measurements of the same round. Requests carry the cookies of a simulated project
member (session and CSRF cookies), as a browser would.

    python bench/proxy_bench.py                           # ~5 minutes
    python bench/proxy_bench.py --rounds 5 --duration 5 --connections 16 64

Prints a table and writes bench/results/proxy_bench.json.
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
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import browser_cookies, free_port, parse_wrk, process, rotated

RESULTS = Path(__file__).parent / "results" / "proxy_bench.json"
UPSTREAM_TIMEOUT = 1.0  # the proxies' PLUGIT_UPSTREAM_TIMEOUT
HANG_SECONDS = 3.0  # how long the hung action sleeps (> UPSTREAM_TIMEOUT)
GOALS = {"page_rps": 2500, "page_p50_overhead_ms": 2.0, "cached_rps": 5000, "hung_p99": 1.10}

# -- the service ----------------------------------------------------------------------------
ROWS = (
    "{% for item in items %}<tr><td>{{ item.id }}</td>"
    '<td><a href="{{ ebuio_baseUrl }}item/{{ item.id }}">{{ item.name }}</a></td>'
    "<td>{{ item.price|floatformat:2 }}</td>"
    "<td>{% if item.stock %}<span class='badge text-bg-success'>in stock</span>"
    "{% else %}<span class='badge text-bg-secondary'>sold out</span>{% endif %}</td>"
    "</tr>{% endfor %}"
)
PAGE_TEMPLATE = (
    '{% extends "plugIt/base.html" %}{% block title %}{{ title }}{% endblock %}'
    "{% block content %}\n"
    '<nav aria-label="breadcrumb"><ol class="breadcrumb">'
    '<li class="breadcrumb-item"><a href="{{ ebuio_baseUrl }}">Home</a></li>'
    '<li class="breadcrumb-item active" aria-current="page">{{ title }}</li></ol></nav>\n'
    '<h1 class="h3">{{ title }}</h1>\n'
    "<p class='lead'>Hello {{ ebuio_u.first_name|default:'stranger' }}, here is what "
    "{{ ebuio_orga.name|default:'your organisation' }} has on offer today. Prices are shown "
    "without taxes; the list is refreshed every few minutes by the service.</p>\n"
    '<table class="table table-striped table-sm"><thead><tr><th scope="col">#</th>'
    '<th scope="col">Name</th><th scope="col">Price</th><th scope="col">Stock</th></tr>'
    "</thead><tbody>" + ROWS + "</tbody></table>\n"
    '<form method="post" action="{{ ebuio_baseUrl }}order" class="row g-2">{% csrf_token %}'
    '<div class="col-auto"><label class="visually-hidden" for="item">Item</label>'
    '<input class="form-control" id="item" name="item" placeholder="Item number"></div>'
    '<div class="col-auto"><label class="visually-hidden" for="qty">Quantity</label>'
    '<input class="form-control" id="qty" name="qty" type="number" value="1"></div>'
    '<div class="col-auto"><button class="btn btn-primary" type="submit">Order</button></div>'
    "</form>\n"
    '<div class="row mt-4"><div class="col-md-6"><div class="card"><div class="card-body">'
    '<h2 class="card-title h5">About these offers</h2><p class="card-text">'
    "{{ items|length }} items are listed for {{ ebuio_u.username|default:'guests' }}. "
    "Offers change daily; stock is checked when you order, and an order you place is "
    "confirmed by e-mail within a few minutes.</p>"
    '<dl class="row mb-0"><dt class="col-5">Cheapest</dt>'
    "<dd class='col-7'>{{ items.0.name }}</dd><dt class='col-5'>Organisation</dt>"
    "<dd class='col-7'>{{ ebuio_orga.name }} ({{ ebuio_orga.codops|upper }})</dd>"
    "<dt class='col-5'>Member</dt><dd class='col-7'>{{ ebuio_u.ebuio_member|yesno }}</dd>"
    "</dl></div></div></div>"
    '<div class="col-md-6"><ul class="list-group">'
    "{% for item in items %}{% if item.stock %}"
    '<li class="list-group-item d-flex justify-content-between {% cycle "odd" "even" %}">'
    "{{ item.name|truncatechars:20 }}<span class='badge text-bg-primary rounded-pill'>"
    "{{ item.price|floatformat:0 }}</span></li>{% endif %}{% endfor %}</ul></div></div>\n"
    "<footer class='mt-4 small text-body-secondary'>{{ footer }} &middot; "
    '<a href="{{ ebuio_baseUrl }}help">Help</a> &middot; '
    '<a href="{{ ebuio_baseUrl }}terms">Terms</a></footer>\n'
    "{% endblock %}"
)
MENU_TEMPLATE = (
    '{% extends "plugIt/base.html" %}{% block menubar %}<ul class="nav flex-column">'
    '<li class="nav-item"><a class="nav-link" href="{{ ebuio_baseUrl }}">Home</a></li>'
    '<li class="nav-item"><a class="nav-link" href="{{ ebuio_baseUrl }}page">Shop</a></li>'
    '<li class="nav-item"><a class="nav-link" href="{{ ebuio_baseUrl }}cached">Offers</a></li>'
    "</ul>{% endblock %}"
)
PROXIED_HTML = (
    b"<h1>Proxied</h1><p>" + b"A page the service renders itself, in proxy mode. " * 40 + b"</p>"
)
DATA = {
    "title": "Today's offers",
    "footer": "Bench service",
    "items": [
        {"id": n, "name": f"Item number {n}", "price": n * 1.5, "stock": n % 3 != 0}
        for n in range(1, 11)
    ],
}


def build_service(root: str) -> Any:
    """The bench service: the SDK's Service plus one plain HTML route for proxy mode."""
    import asyncio

    from plugit import Service, Settings
    from plugit.utils import cache, public

    templates = Path(root) / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "page.html").write_text(PAGE_TEMPLATE)
    (templates / "menubar.html").write_text(MENU_TEMPLATE)
    service = Service("bench", root=root, settings=Settings(meta_cache=3600))

    @service.action("/page", template="page.html")
    async def page(request: Any) -> dict[str, Any]:
        return DATA

    @service.action("/cached", template="page.html")
    @cache(time=600, byUser=False)
    @public()
    async def cached(request: Any) -> dict[str, Any]:
        return DATA

    @service.action("/hang", template="page.html")
    async def hang(request: Any) -> dict[str, Any]:
        await asyncio.sleep(HANG_SECONDS)
        return DATA

    @service.action("/menubar", template="menubar.html")
    async def menubar(request: Any) -> dict[str, Any]:
        return {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/proxied":
            headers = [(b"content-type", b"text/html; charset=utf-8")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": PROXIED_HTML})
            return
        await service(scope, receive, send)

    return app


def serve_service(port: int, root: str) -> None:
    """Serve the bench service until killed (runs in the child process)."""
    import uvicorn

    uvicorn.run(
        build_service(root),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )


# -- processes ------------------------------------------------------------------------------
def settings_overrides(work: str, lines: list[str]) -> dict[str, str]:
    """Give the environment of proxies whose settings are Django's plus `lines` (what-ifs)."""
    if not lines:
        return {}
    module = Path(work) / "bench_settings.py"
    module.write_text("from plugit_proxy.settings import *  # noqa\n" + "\n".join(lines) + "\n")
    path = os.pathsep.join(filter(None, [work, os.environ.get("PYTHONPATH")]))
    return {"DJANGO_SETTINGS_MODULE": "bench_settings", "PYTHONPATH": path}


def start_proxy(
    stack: contextlib.ExitStack,
    service: str,
    data_dir: str,
    *,
    menu: str,
    proxy_mode: bool,
    env: dict[str, str],
) -> str:
    """Start `plugit proxy` (2 workers) in front of `service`; give its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "plugit", "proxy", "--service", service]
    command += ["--port", str(port), "--workers", "2", "--menu-action", menu]
    command += ["--proxy-mode"] if proxy_mode else ["--no-proxy-mode"]
    env = {
        **env,
        "PLUGIT_DATA_DIR": data_dir,
        "PLUGIT_UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT),
        # The hung target measures the deadline path; with the circuit breaker on, its calls
        # would be refused at once after five timeouts (tests/proxy/test_breaker.py covers it).
        "PLUGIT_UPSTREAM_BREAKER_FAILURES": "0",
        "PLUGIT_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    }
    base = f"http://127.0.0.1:{port}"
    probe = base + ("/plugIt/proxied" if proxy_mode else "/plugIt/page")
    stack.enter_context(process(command, probe, env))
    return base


# -- wrk ------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    cookie: str = ""


def wrk_command(target: Target, duration: float, connections: int) -> list[str]:
    threads = min(2, connections)  # wrk wants at least one connection per thread
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
    command += ["--latency"]
    command += ["--timeout", "10s"]
    if target.cookie:
        command += ["-H", f"Cookie: {target.cookie}"]
    return [*command, target.url]


def wrk(target: Target, duration: float, connections: int) -> dict[str, float]:
    """Load one target with wrk and read its report."""
    done = subprocess.run(
        wrk_command(target, duration, connections), capture_output=True, text=True, check=True
    )
    return parse_wrk(done.stdout, target.url)


def wrk_while_hung(
    target: Target, hung: Target, duration: float, connections: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Load `target` while a second wrk loads the hung page; give both reports."""
    background = subprocess.Popen(
        wrk_command(hung, duration + 2 * UPSTREAM_TIMEOUT + 1, connections),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(UPSTREAM_TIMEOUT + 0.5)  # every hung connection is waiting by now
        measured = wrk(target, duration, connections)
        text, _ = background.communicate(timeout=duration + 30)
    finally:
        if background.poll() is None:
            background.kill()
            background.wait()
    return measured, parse_wrk(text, hung.url, errors_allowed=True)


def hung_page_status(url: str, cookie: str) -> tuple[int, float]:
    """Ask the hung page once: its status and how long it took."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


# -- the benchmark --------------------------------------------------------------------------
TARGETS = ("direct", "page", "page-menu", "cached", "proxy-mode", "page+hung")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, warm up, then run interleaved rounds at each concurrency."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: install it with bench/setup.sh")
    work = tempfile.mkdtemp(prefix="plugit-proxy-bench-")
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        str(c): {name: [] for name in TARGETS} for c in args.connections
    }
    hung_samples: dict[str, list[dict[str, float]]] = {str(c): [] for c in args.connections}
    with contextlib.ExitStack() as stack:
        port = free_port()
        service = f"http://127.0.0.1:{port}"
        command = [sys.executable, __file__, "--serve-service", str(port), "--root", work]
        stack.enter_context(process(command, service + "/action/page"))
        env = settings_overrides(work, args.override)
        plain = start_proxy(stack, service, f"{work}/p1", menu="", proxy_mode=False, env=env)
        menu = start_proxy(stack, service, f"{work}/p2", menu="menubar", proxy_mode=False, env=env)
        mode = start_proxy(stack, service, f"{work}/p3", menu="", proxy_mode=True, env=env)
        cookies = {base: browser_cookies(base, args.user) for base in (plain, menu, mode)}
        targets = {
            "direct": Target("direct", service + "/action/page"),
            "page": Target("page", plain + "/plugIt/page", cookies[plain]),
            "page-menu": Target("page-menu", menu + "/plugIt/page", cookies[menu]),
            "cached": Target("cached", plain + "/plugIt/cached", cookies[plain]),
            "proxy-mode": Target("proxy-mode", mode + "/plugIt/proxied", cookies[mode]),
        }
        hung = Target("hung", plain + "/plugIt/hang", cookies[plain])
        status, seconds = hung_page_status(hung.url, hung.cookie)
        print(f"hung page: HTTP {status} after {seconds:.2f} s (deadline {UPSTREAM_TIMEOUT} s)")
        for target in targets.values():
            wrk(target, args.warmup, max(args.connections))
        order = list(TARGETS)
        for round_number in range(args.rounds):
            for connections in args.connections:
                for name in rotated(order, round_number):
                    if name == "page+hung":
                        result, hung_result = wrk_while_hung(
                            targets["page"], hung, args.duration, connections
                        )
                        hung_samples[str(connections)].append(hung_result)
                    else:
                        result = wrk(targets[name], args.duration, connections)
                    samples[str(connections)][name].append(result)
            print(f"round {round_number + 1}/{args.rounds} done", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return summarise(samples, hung_samples, args, (status, seconds))


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def summarise(
    samples: dict[str, dict[str, list[dict[str, float]]]],
    hung_samples: dict[str, list[dict[str, float]]],
    args: argparse.Namespace,
    probe: tuple[int, float],
) -> dict[str, Any]:
    """Medians per target; per-round ratios to the direct call and to the page alone."""
    levels: dict[str, Any] = {}
    for connections, runs in samples.items():
        direct = runs["direct"]
        table: dict[str, Any] = {}
        for name, measured in runs.items():
            per_round = [d["rps"] / m["rps"] for d, m in zip(direct, measured, strict=True)]
            overhead = [m["p50_ms"] - d["p50_ms"] for d, m in zip(direct, measured, strict=True)]
            table[name] = {
                "rps": _median(measured, "rps"),
                "p50_ms": _median(measured, "p50_ms"),
                "p99_ms": _median(measured, "p99_ms"),
                "time_per_request_vs_direct": statistics.median(per_round),
                "p50_overhead_ms": statistics.median(overhead),
            }
        alone, loaded = runs["page"], runs["page+hung"]
        p99_ratios = [h["p99_ms"] / a["p99_ms"] for a, h in zip(alone, loaded, strict=True)]
        hung = hung_samples[connections]
        levels[connections] = {
            "targets": table,
            "page_p99_with_hung_over_without": {
                "median": statistics.median(p99_ratios),
                "rounds": p99_ratios,
            },
            "hung_pages": {
                "p50_ms": _median(hung, "p50_ms"),
                "p99_ms": _median(hung, "p99_ms"),
                "max_ms": max(run["max_ms"] for run in hung),
                "requests": sum(run["requests"] for run in hung),
                "non_2xx": sum(run["non_2xx"] for run in hung),
                "timeouts": sum(run["timeouts"] for run in hung),
            },
        }
    return {
        "generator": "wrk -t2",
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "user": args.user,
        "settings_overrides": args.override,
        "proxy": "plugit proxy --workers 2 (default settings; upstream timeout "
        f"{UPSTREAM_TIMEOUT} s)",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "hung_page_probe": {"status": probe[0], "seconds": probe[1]},
        "levels": levels,
        "samples": samples,
        "hung_samples": hung_samples,
        "goals": GOALS,
    }


def print_table(summary: dict[str, Any]) -> None:
    """Print the medians, the ratios and the verdict on each goal."""
    for connections, level in summary["levels"].items():
        print(f"\n-- {connections} connections")
        print(
            f"{'target':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'x direct':>9} {'p50 +ms':>8}"
        )
        for name, row in level["targets"].items():
            print(
                f"{name:<12} {row['rps']:>8.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
                f"{row['time_per_request_vs_direct']:>8.2f}x {row['p50_overhead_ms']:>8.2f}"
            )
        hung = level["hung_pages"]
        ratio = level["page_p99_with_hung_over_without"]
        rounds = ", ".join(f"{r:.2f}" for r in ratio["rounds"])
        print(
            f"hung pages: p50 {hung['p50_ms']:.0f} ms, p99 {hung['p99_ms']:.0f} ms, "
            f"max {hung['max_ms']:.0f} ms; {hung['non_2xx']:.0f}/{hung['requests']:.0f} "
            f"answered non-2xx, {hung['timeouts']:.0f} wrk timeouts"
        )
        print(f"page p99 with/without the hung load: {ratio['median']:.2f}x (rounds: {rounds})")
    print()
    _print_goals(summary)


def _print_goals(summary: dict[str, Any]) -> None:
    for connections, level in summary["levels"].items():
        rows = level["targets"]
        hung = level["hung_pages"]
        checks = [
            ("page >= 2500 req/s", rows["page"]["rps"] >= GOALS["page_rps"]),
            (
                "page p50 overhead <= 2 ms",
                rows["page"]["p50_overhead_ms"] <= GOALS["page_p50_overhead_ms"],
            ),
            ("cached >= 5000 req/s", rows["cached"]["rps"] >= GOALS["cached_rps"]),
            (
                "hung pages within the deadline",
                hung["max_ms"] <= UPSTREAM_TIMEOUT * 1000 * GOALS["hung_p99"]
                and hung["timeouts"] == 0,
            ),
            (
                "page p99 with hung load within 10 %",
                level["page_p99_with_hung_over_without"]["median"] <= GOALS["hung_p99"],
            ),
        ]
        verdicts = "; ".join(f"{text}: {'ok' if ok else 'NO'}" for text, ok in checks)
        print(f"goals at {connections} connections: {verdicts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per target")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--user", default="mem", help="simulated user mode (ano, log, mem, adm)")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="'NAME = VALUE'",
        help="a Django setting for the proxies, to measure a what-if (e.g. 'USE_I18N = False')",
    )
    parser.add_argument("--serve-service", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_service:
        serve_service(args.serve_service, args.root)
        return
    summary = measure(args)
    print_table(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()

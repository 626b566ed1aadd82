"""The pieces of bench/compose_bench.py start and answer, each once, through its own helpers.

The Node PlugIt service speaks the protocol (ping, version, meta, template, action) and a real
`plugit proxy` composes its page from it; Podium's layout and podlet (1 and 2 layout
processes) answer the same fragment in the same shell; one short wrk load goes through the
harness's /proc accounting. Off CI, a machine without node, wrk or bench/podium's npm
packages (`sh bench/setup.sh`) skips what needs them; with CI=true a missing piece fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

BENCH = Path(__file__).parent.parent / "bench"
FIXTURES = BENCH / "fixtures"


def _require(what: str, present: bool) -> None:
    if present:
        return
    reason = f"{what} is missing: run `sh bench/setup.sh`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def compose_bench() -> Iterator[ModuleType]:
    """bench/compose_bench.py as a module (bench/ holds scripts, not a package)."""
    sys.path.insert(0, str(BENCH))
    try:
        import compose_bench

        yield compose_bench
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def stack() -> Iterator[contextlib.ExitStack]:
    """An exit stack for the module's servers (stopped, process group and all, at the end)."""
    with contextlib.ExitStack() as servers:
        yield servers


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the servers' output."""
    return tmp_path_factory.mktemp("bench-logs")


@pytest.fixture(scope="module")
def node_service(compose_bench: ModuleType, stack: contextlib.ExitStack, logs: Path) -> str:
    """The base URL of the Node PlugIt service."""
    _require("node", shutil.which("node") is not None)
    running = compose_bench.start_node_service(stack, logs)
    return str(running.base)


def _member(compose_bench: ModuleType, base: str, page: str) -> httpx.Client:
    cookie = compose_bench.browser_cookies(base, "mem", page=page)
    return httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=10)


def test_node_service_speaks_the_protocol(node_service: str) -> None:
    template = (FIXTURES / "page.html").read_bytes()
    with httpx.Client(base_url=node_service, timeout=10) as client:
        assert client.get("/ping", params={"data": "x y"}).json() == {"data": "x y"}
        assert client.get("/ping").json() == {"data": ""}
        assert client.get("/version").json() == {
            "result": "Ok",
            "version": "1",
            "protocol": "EBUio-PlugIt",
        }
        meta = client.get("/meta/page")
        assert meta.json() == {"template_tag": hashlib.md5(template).hexdigest()}
        assert "Expire" in meta.headers
        assert client.get("/meta/cached").json()["cache_time"] == 600
        assert client.get("/template/page").content == template
        action = client.get("/action/page").json()
        assert action == json.loads((FIXTURES / "service.json").read_bytes())
        assert client.get("/meta/nothing").status_code == 404


@pytest.mark.parametrize("workers", [1, 2])
def test_proxy_composes_the_node_services_page(
    compose_bench: ModuleType,
    stack: contextlib.ExitStack,
    logs: Path,
    node_service: str,
    workers: int,
) -> None:
    proxy = compose_bench.start_proxy(stack, node_service, workers, proxy_mode=False, logs=logs)
    with _member(compose_bench, proxy.base, "/plugIt/page") as browser:
        page = browser.get("/plugIt/page")
        cached = browser.get("/plugIt/cached")
    assert page.status_code == 200
    assert "Experiment Run #8" in page.text  # |title over the action's data
    assert "Maintenance &lt;Saturday&gt; &amp; Sunday" in page.text  # escaped
    assert 'name="csrfmiddlewaretoken"' in page.text
    assert "8 runs shown for" in page.text
    assert "anonymous" not in page.text  # signed in as the member
    assert cached.status_code == 200
    assert "Experiment Run #8" in cached.text


def test_proxy_mode_wraps_the_fragment(
    compose_bench: ModuleType, stack: contextlib.ExitStack, logs: Path, node_service: str
) -> None:
    proxy = compose_bench.start_proxy(stack, node_service, 1, proxy_mode=True, logs=logs)
    fragment = (FIXTURES / "fragment.html").read_text()
    with _member(compose_bench, proxy.base, "/plugIt/pm") as browser:
        page = browser.get("/plugIt/pm")
    assert page.status_code == 200
    assert fragment.strip() in page.text
    assert page.text.lstrip().lower().startswith("<!doctype html>")  # inside the layout


@pytest.mark.parametrize("processes", [1, 2])
def test_podium_composes_the_fragment_into_the_shell(
    compose_bench: ModuleType, stack: contextlib.ExitStack, logs: Path, processes: int
) -> None:
    _require("node", shutil.which("node") is not None)
    _require("bench/podium/node_modules", compose_bench.podium_installed())
    layout, _ = compose_bench.start_podium(stack, processes, logs)
    page = httpx.get(layout.base + "/page", timeout=10)
    head, _, tail = (FIXTURES / "shell.html").read_text().partition("<!--CONTENT-->")
    assert page.status_code == 200
    assert page.text.startswith(head)
    assert page.text.endswith(tail)
    assert "Experiment run #8" in page.text


def test_one_measurement_accounts_for_the_load(
    compose_bench: ModuleType, stack: contextlib.ExitStack, logs: Path, node_service: str
) -> None:
    _require("wrk", shutil.which("wrk") is not None)
    upstream = compose_bench.start_upstream(stack, logs)
    target = compose_bench.Target("direct", 1, upstream.base + "/page", {"upstream": upstream.pid})
    assert compose_bench.PAGE_MARK in compose_bench.fetch(target)
    figures = compose_bench.measure_once(target, 1, 4)
    assert figures["rps"] > 0
    assert figures["p50_ms"] <= figures["p99_ms"]
    assert len(figures["cpu_pct"]["upstream"]) == 1
    assert figures["cpu_pct"]["upstream"][0] > 0
    assert 10 < figures["rss_peak_mb"]["upstream"][0] < 1000  # a Node process, read from /proc
    assert figures["cpu_ms_per_request"] > 0

"""The render alone: Django's template engine against the proxy's compiled closures.

Each page template (the anchor's, the polls example's, the compat service's, the proxy bench's)
extends plugIt/base.html and is rendered inside the layout, with the context of the
differential test (tests/proxy/render_corpus.py) and the page's own data (the anchor
service's answer, bench/fixtures/service.json; proxy_bench.py's DATA), by `Template.render`
(Django) and by `FastTemplate.render` (plugit_proxy.fastrender). Rounds interleave the two
(A B B A ...); the table gives the best and median µs per render and the ratio Django / compiled:

    .venv/bin/python bench/render_bench.py                 # ~20 s
    .venv/bin/python bench/render_bench.py --rounds 9 --renders 500

Prints the table; it writes no file.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
os.environ.setdefault("PLUGIT_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)

import django  # noqa: E402

django.setup()

from django.template import Context  # noqa: E402
from tests.proxy.render_corpus import full_context, service_templates  # noqa: E402

import proxy_bench  # noqa: E402
from plugit_proxy.rendering import Renderer  # noqa: E402

ANCHOR_PAYLOAD = ROOT / "bench" / "fixtures" / "service.json"  # the anchor service's action answer
PAGES = (
    "bench/fixtures/page.html",
    "polls/index.html",
    "polls/show.html",
    "original_service/home.html",
    "original_service/note.html",
)


def timed(render: Callable[[], object], renders: int) -> float:
    """µs per render over `renders` renders."""
    start = time.perf_counter()
    for _ in range(renders):
        render()
    return (time.perf_counter() - start) / renders * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--renders", type=int, default=300)
    args = parser.parse_args()
    sources = dict(service_templates())
    sources["proxy_bench/page.html"] = proxy_bench.PAGE_TEMPLATE
    payloads = {
        "bench/fixtures/page.html": json.loads(ANCHOR_PAYLOAD.read_text()),
        "proxy_bench/page.html": proxy_bench.DATA,
    }
    renderer = Renderer()
    print(f"{'page':32} {'django µs':>10} {'compiled µs':>12} {'ratio':>6}  (best; median ratio)")
    for name in (*PAGES, "proxy_bench/page.html"):
        data = full_context() | payloads.get(name, {})
        compare(renderer, name, sources[name], data, args)


def compare(
    renderer: Renderer, name: str, source: str, data: dict[str, Any], args: argparse.Namespace
) -> None:
    """Time one page both ways in interleaved rounds and print its row."""
    template = renderer.compile(None, source, name)
    fast = renderer.fast_form(template)
    assert fast is not None

    def django_render() -> str:
        return str(template.render(Context(dict(data))))

    def fast_render() -> str:
        return str(fast.render(template, Context(dict(data))))

    assert django_render() == fast_render()
    slow: list[float] = []
    quick: list[float] = []
    gc.collect()
    for round_ in range(args.rounds):
        pair = [(slow, django_render), (quick, fast_render)]
        for results, render in pair if round_ % 2 == 0 else reversed(pair):
            results.append(timed(render, args.renders))
    ratios = [a / b for a, b in zip(slow, quick, strict=True)]
    print(
        f"{name:32} {min(slow):10.0f} {min(quick):12.0f} {min(slow) / min(quick):6.2f}"
        f"  (median {statistics.median(ratios):.2f})"
    )


if __name__ == "__main__":
    main()

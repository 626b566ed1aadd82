"""The layout's `plugit.socket` in a real Chromium, against a WebSocket server of the test's own.

The server also serves the page (the helper loaded as a layout loads it: told the mount). It
closes the first two sockets at once (as a restarting service would), answers the
third, and closes it with 4404 when told to. The page's timers are recorded (and run without
waiting), so the test reads the delays the helper chose instead of timing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .test_demo_browser import (  # the `chromium` fixture: skipped without it, failed on CI
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    chromium,  # noqa: F401
)

with contextlib.suppress(ImportError):  # the `chromium` fixture says what is missing
    from playwright.sync_api import Page, sync_playwright

pytestmark = pytest.mark.browser

HELPER = Path(__file__).resolve().parents[2] / "src/plugit_proxy/static/plugit_proxy/plugit.js"

# Record each delay the helper asks for, and run its timer at once.
RECORD_TIMERS = """() => {
  window.delays = [];
  const original = window.setTimeout;
  window.setTimeout = (callback, delay) => {
    if (delay) window.delays.push(delay);
    return original(callback, 0);
  };
}"""


class FlakyServer:
    """Closes sockets 1 and 2 with 1011, greets socket 3, closes it with 4404 on `refuse()`.

    A plain HTTP GET gets the page.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.refused = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        script = f'<script data-plugit-base="/plugIt/">{HELPER.read_text()}</script>'
        self.page = f"<!doctype html><html><head>{script}</head><body></body></html>".encode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def serve_page(self, connection: ServerConnection, request: Request) -> Response | None:
        if "upgrade" in request.headers:
            return None  # a WebSocket: on to `handle`
        headers = Headers({"Content-Type": "text/html; charset=utf-8"})
        return Response(200, "OK", headers, self.page)

    async def handle(self, socket: ServerConnection) -> None:
        self.connections += 1
        if self.connections < 3:
            await socket.close(1011, "restarting")
            return
        await socket.send(f'{{"hello": {self.connections}, "path": "{socket.request.path}"}}')
        await self.refused.wait()
        await socket.close(4404, "gone")

    async def start(self) -> None:
        self.server = await serve(self.handle, "127.0.0.1", 0, process_request=self.serve_page)
        self.port = self.server.sockets[0].getsockname()[1]

    def refuse(self) -> None:
        self.loop.call_soon_threadsafe(self.refused.set)

    def __enter__(self) -> FlakyServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), self.loop).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        self.refuse()  # a socket still open ends
        self.server.close()
        asyncio.run_coroutine_threadsafe(self.server.wait_closed(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    with FlakyServer() as running:
        yield running


@pytest.fixture
def page(chromium: Path, server: FlakyServer) -> Iterator[Page]:  # noqa: F811 (imported fixture)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            tab.goto(f"{server.url}plugIt/show/3")
            yield tab
        finally:
            browser.close()


def test_it_reconnects_with_doubling_delays_and_stops_when_refused(
    page: Page, server: FlakyServer
) -> None:
    page.evaluate(RECORD_TIMERS)
    page.evaluate(
        """(url) => {
          window.got = [];
          window.closes = [];
          window.live = plugit.socket(url, {
            json: true,
            onmessage: (data) => window.got.push(data),
            onclose: (event) => window.closes.push(event.code),
          });
        }""",
        "live/3",
    )
    page.wait_for_function("() => window.got.length === 1")
    assert page.evaluate("() => window.got") == [{"hello": 3, "path": "/plugIt/live/3"}]
    assert page.evaluate("() => window.closes") == [1011, 1011]
    first, second = page.evaluate("() => window.delays")
    assert 400 <= first <= 600  # 500 ms, give or take the jitter
    assert 800 <= second <= 1200  # doubled
    assert page.evaluate("() => live.attempts") == 2  # (back to 0 if one that worked closes)

    server.refuse()
    page.wait_for_function("() => window.closes.length === 3")
    assert page.evaluate("() => window.closes") == [1011, 1011, 4404]
    assert page.evaluate("() => live.closed") is True  # no new attempt is scheduled
    assert len(page.evaluate("() => window.delays")) == 2  # ... had it not been refused
    assert server.connections == 3


def test_routes_are_resolved_against_the_mount_and_the_page(
    page: Page, server: FlakyServer
) -> None:
    urls = page.evaluate(
        """() => [
          plugit.socketUrl("live/3"),
          plugit.socketUrl("/elsewhere/live/3"),
          plugit.socketUrl("wss://example.org/x"),
          plugit.socketUrl("https://example.org/y"),
        ]"""
    )
    assert urls == [
        f"ws://127.0.0.1:{server.port}/plugIt/live/3",
        f"ws://127.0.0.1:{server.port}/elsewhere/live/3",
        "wss://example.org/x",
        "wss://example.org/y",
    ]

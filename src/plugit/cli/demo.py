"""`plugit demo`: the polls example behind a standalone proxy, in one command.

Both servers run in this one process: the polls service in a background thread on a free
port, the proxy (`plugit_proxy.cli.run_proxy`, one worker) in the main thread, which owns
Ctrl-C and SIGTERM. One process means nothing can be orphaned, even by `kill -9`, and the
service's port is bound before anything else starts, so no other program can take it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import FrameType
from typing import Any

import plugit
from plugit.cli.envsettings import setting_int, setting_text
from plugit.cli.ports import ensure_port_free
from plugit.exceptions import ConfigurationError
from plugit.service import Service

__all__ = ["register"]

SERVICE_DIR_ENV = "PLUGIT_DEMO_SERVICE_DIR"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
READY_TIMEOUT = 60.0
# Settings that would move the proxy's database, cache and sessions elsewhere (a platform's
# PostgreSQL and Redis, say): not for a demo, which keeps everything in its data folder.
EXTERNAL_STORES_ENV = ("PLUGIT_REDIS_URL", "PLUGIT_DATABASE_URL")


def register(commands: Any) -> None:
    """Add the `demo` subcommand."""
    parser = commands.add_parser(
        "demo",
        help="run the polls example behind a standalone proxy",
        description="Serve the polls example behind a standalone proxy, with SQLite and an "
        "in-process cache, data in $PLUGIT_DATA_DIR/demo (./.plugit/demo by default).",
    )
    parser.add_argument(
        "--host",
        help=f"address the proxy listens on, {DEFAULT_HOST} by default (PLUGIT_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        help=f"port of the proxy, {DEFAULT_PORT} by default; the service gets a free one "
        "(PLUGIT_PORT)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo until interrupted."""
    # Read here, not while the parser is built: a bad variable is this command's error.
    host = args.host or setting_text("PLUGIT_HOST", DEFAULT_HOST)
    port = setting_int("PLUGIT_PORT", DEFAULT_PORT) if args.port is None else args.port
    return run_demo(host=host, port=port)


def run_demo(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve the polls example behind a proxy on host:port until Ctrl-C or SIGTERM."""
    from plugit.testing import LiveServer

    ensure_port_free(host, port)
    for name in EXTERNAL_STORES_ENV:
        os.environ.pop(name, None)
    data = demo_data_dir()
    app = load_polls(find_service_dir(), data / "polls.sqlite3")
    print(f"PlugIt demo: the polls example's database is {data / 'polls.sqlite3'}", flush=True)
    service = LiveServer(app, proxy_headers=False)
    code = 0
    with _sigterm_interrupts(), contextlib.suppress(KeyboardInterrupt):
        try:
            service.start()
            code = serve_proxy(service.url, host=host, port=port, data_dir=data / "proxy")
        finally:
            service.stop()
    print("PlugIt demo stopped.", flush=True)
    return code


def serve_proxy(service_url: str, *, host: str, port: int, data_dir: Path) -> int:
    """Run the standalone proxy (one worker) in front of `service_url` until it stops."""
    from plugit_proxy.cli import run_proxy

    watcher = ReadyWatcher(browser_url(host, port))
    watcher.start()
    access_log = logging.getLogger("uvicorn.access")
    access_log.addFilter(_from_main_thread)
    try:
        return run_proxy(
            service=service_url,
            host=host,
            port=port,
            proxy_mode=False,
            menu_action="menubar",
            workers=1,
            data_dir=str(data_dir),
        )
    finally:
        access_log.removeFilter(_from_main_thread)
        watcher.stop()


def _from_main_thread(record: logging.LogRecord) -> bool:
    """Keep the proxy's access lines, drop the service's (its thread is not the main one).

    uvicorn's loggers are process-wide, so `access_log=False` on one server cannot quiet it
    alone; each page is several protocol calls, and the proxy's line tells the story.
    """
    return record.thread == threading.main_thread().ident


def demo_data_dir() -> Path:
    """`$PLUGIT_DATA_DIR/demo` (`./.plugit/demo` by default), created."""
    path = (Path(os.environ.get("PLUGIT_DATA_DIR") or ".plugit") / "demo").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_service_dir() -> Path:
    """The polls example's folder: `$PLUGIT_DEMO_SERVICE_DIR`, else the checkout's."""
    configured = os.environ.get(SERVICE_DIR_ENV)
    if configured:
        directory = Path(configured).resolve()
    else:  # src/plugit/__init__.py -> the checkout's root
        directory = Path(plugit.__file__).resolve().parents[2] / "examples" / "polls"
    if not (directory / "polls" / "service.py").is_file():
        raise ConfigurationError(
            f"the polls example is not in {directory} (no polls/service.py): it ships with "
            f"PlugIt's source checkout as examples/polls; set {SERVICE_DIR_ENV} to its folder"
        )
    return directory


def load_polls(directory: Path, database: Path) -> Service:
    """Import the polls example from `directory` and build it on the SQLite file `database`."""
    if str(directory) not in sys.path:  # `examples` is not a package
        sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module("polls.service")
    except ImportError as error:
        hint = " (pip install 'plugit3[examples]')" if error.name == "sqlalchemy" else ""
        raise ConfigurationError(
            f"cannot import the polls example from {directory}: {error}{hint}"
        ) from None
    service = module.create_service(f"sqlite:///{database}")
    if not isinstance(service, Service):
        raise ConfigurationError(f"{directory}: polls.service.create_service() gave no Service")
    return service


def browser_url(host: str, port: int) -> str:
    """The URL to open for a proxy listening on host:port (loopback for a wildcard)."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM as Ctrl-C while the block runs: the same clean stop for both."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ReadyWatcher:
    """Print the ready line once `url` leads to a page (the proxy and the service answer)."""

    def __init__(self, url: str, *, timeout: float = READY_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="plugit-demo-ready", daemon=True)

    def start(self) -> None:
        """Start watching in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the proxy has stopped)."""
        self._stopped.set()
        self._thread.join(5)

    def _watch(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self._stopped.wait(0.1):
            if self._answers():
                print(f"PlugIt demo ready: {self.url}", flush=True)
                print(
                    f"Switch users with the menu at the top right, or "
                    f"{self.url}plugIt/ebuio_setUser?mode=ano|log|mem|adm. Press Ctrl-C to stop.",
                    flush=True,
                )
                return
            if time.monotonic() > deadline:
                print(
                    f"plugit: warning: {self.url} gave no page within {self.timeout:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                return

    def _answers(self) -> bool:
        """Whether the URL leads, through redirects, to a page (no proxy variables: local)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.url, timeout=2) as response:
                return int(response.status) == HTTPStatus.OK
        except (OSError, http.client.HTTPException):  # URLError and HTTPError are OSErrors
            return False

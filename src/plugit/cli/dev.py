"""`plugit dev`: a service and a standalone proxy in development mode, in one command.

Run in a service's folder, it starts the two commands a developer would otherwise start in two
terminals, each a process of its own (in its own process group):

    plugit serve service:service --port 5000 --reload
    plugit proxy --service http://127.0.0.1:5000 --port 8000 --dev

The first restarts the service when a `.py` or `.html` file changes, with DEBUG on; the second
caches nothing, so the next page shows the change, and shows an action's traceback. This
process only watches them: it prints the one URL to open once both answer, and stops both on
Ctrl-C or SIGTERM, or when either ends by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from plugit.cli.ports import ensure_port_free
from plugit.exceptions import ConfigurationError

__all__ = ["register", "run_dev"]

DEFAULT_TARGET = "service:service"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SERVICE_PORT = 5000
SERVICE_HOST = "127.0.0.1"  # the service's network guard lets loopback proxies in by default
READY_TIMEOUT = 120.0  # the proxy's first start creates its database
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.1
# The service runs with DEBUG, so that an action that raises sends its traceback to the
# development proxy's error page (unless PLUGIT_DEBUG is set in this environment).
DEBUG_ON = {"PLUGIT_DEBUG": "1"}


def register(commands: Any) -> None:
    """Add the `dev` subcommand."""
    parser = commands.add_parser(
        "dev",
        help="develop a service: it reloads on every change, behind a proxy that caches nothing",
        description="Run in a service's folder: serve the service with auto-reload on code and "
        "template changes, and a standalone proxy in development mode in front of it; print the "
        "URL to open. Ctrl-C stops both.",
    )
    parser.add_argument(
        "target",
        nargs="?",
        default=DEFAULT_TARGET,
        help=f"the service as module:attribute, {DEFAULT_TARGET} by default",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address the proxy listens on (the URL to open)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the proxy")
    parser.add_argument(
        "--service-port",
        type=int,
        default=DEFAULT_SERVICE_PORT,
        help=f"port of the service (on {SERVICE_HOST})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the service and the proxy until interrupted."""
    return run_dev(args.target, host=args.host, port=args.port, service_port=args.service_port)


@dataclass
class Child:
    """One of the two servers: its name, its process and the URL that answers when it is up."""

    name: str
    process: subprocess.Popen[bytes]
    url: str


def run_dev(
    target: str = DEFAULT_TARGET,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    service_port: int = DEFAULT_SERVICE_PORT,
) -> int:
    """Serve `target` with reload behind a development proxy on host:port until stopped."""
    check_ready_to_start(target, host, port, service_port)
    service_url = f"http://{SERVICE_HOST}:{service_port}"
    proxy_url = browser_url(host, port)
    children: list[Child] = []
    with _stop_signals_interrupt():
        try:
            service = start("service", serve_command(target, service_port), service_url, DEBUG_ON)
            children.append(service)
            if not wait_answering(children[0], children):
                return 1
            children.append(start("proxy", proxy_command(service_url, host, port), proxy_url))
            if not wait_answering(children[1], children):
                return 1
            print(f"PlugIt dev ready: {proxy_url}", flush=True)
            print(
                f"The service ({target}, port {service_port}) restarts when a .py or .html file "
                "changes; the proxy caches nothing. Press Ctrl-C to stop.",
                flush=True,
            )
            return watch(children)
        except KeyboardInterrupt:
            return 0
        finally:
            stop(children)
            print("PlugIt dev stopped.", flush=True)


def serve_command(target: str, port: int) -> list[str]:
    """`plugit serve TARGET --reload` on the service's port."""
    return [
        *plugit_command(),
        "serve",
        target,
        "--host",
        SERVICE_HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--reload",
    ]


def proxy_command(service_url: str, host: str, port: int) -> list[str]:
    """`plugit proxy --dev` (one worker) in front of `service_url`."""
    return [
        *plugit_command(),
        "proxy",
        "--service",
        service_url,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--dev",
    ]


def plugit_command() -> list[str]:
    """This installation's `plugit`, run by this interpreter."""
    return [sys.executable, "-m", "plugit"]


def check_ready_to_start(target: str, host: str, port: int, service_port: int) -> None:
    """Refuse, in one line, what would fail later: no proxy, no service here, a taken port."""
    from plugit.cli.extras import proxy_installed

    if not proxy_installed():
        raise ConfigurationError(
            "`plugit dev` runs the proxy, which is not installed: pip install 'plugit3[proxy]'"
        )
    check_target_here(target)
    if port == service_port and host in {SERVICE_HOST, "0.0.0.0", ""}:
        raise ConfigurationError(
            f"the proxy and the service cannot both listen on port {port}: "
            "give them different --port and --service-port"
        )
    ensure_port_free(SERVICE_HOST, service_port, flag="--service-port", variable=None)
    ensure_port_free(host, port, flag="--port", variable=None)


def check_target_here(target: str) -> None:
    """Refuse a target whose module is not in the working directory (nor importable)."""
    from importlib.util import find_spec

    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ConfigurationError(
            f"{target!r} is not of the form module:attribute, e.g. {DEFAULT_TARGET}"
        )
    top = module.split(".")[0]
    here = Path.cwd()
    if (here / f"{top}.py").is_file() or (here / top).is_dir():
        return
    with contextlib.suppress(ImportError, ValueError):
        if find_spec(top) is not None:
            return
    raise ConfigurationError(
        f"no {top}.py in {here}: run `plugit dev` in a service's folder "
        "(`plugit new service NAME` writes one), or name the service as module:attribute"
    )


def browser_url(host: str, port: int) -> str:
    """The proxy's pages for a proxy listening on host:port (loopback for a wildcard)."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/plugIt/"


def start(
    name: str, command: Sequence[str], url: str, defaults: Mapping[str, str] | None = None
) -> Child:
    """Start `command` in its own process group, its output on this terminal.

    `defaults` are environment variables the child gets unless this one sets them already.
    """
    environment = {**(defaults or {}), **os.environ}
    process = subprocess.Popen(command, start_new_session=True, env=environment)
    return Child(name, process, url)


def wait_answering(child: Child, children: Sequence[Child]) -> bool:
    """Wait until `child` answers HTTP; False (said on stderr) when a child ends or it is late."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if ended(children):
            return False
        if answers(child.url):
            return True
        time.sleep(POLL_SECONDS)
    print(
        f"plugit: error: the {child.name} gave no answer at {child.url} within "
        f"{READY_TIMEOUT:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return False


def answers(url: str) -> bool:
    """Whether something answers HTTP at `url` (any status: an error page is an answer)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=5)
    try:
        connection.request("GET", parts.path or "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def watch(children: Sequence[Child]) -> int:
    """Wait until a child ends by itself; return 1 (the error is said on stderr)."""
    while not ended(children):
        time.sleep(POLL_SECONDS)
    return 1


def ended(children: Sequence[Child]) -> bool:
    """Whether a child has ended; if so, say which on stderr."""
    for child in children:
        code = child.process.poll()
        if code is not None:
            print(
                f"plugit: error: the {child.name} stopped (exit code {code}); stopping plugit dev",
                file=sys.stderr,
                flush=True,
            )
            return True
    return False


def stop(children: Sequence[Child]) -> None:
    """Interrupt every child's process group as Ctrl-C would; kill a group still there later."""
    for child in children:
        signal_group(child, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(child, signal.SIGKILL)
            child.process.wait()


def signal_group(child: Child, sig: int) -> None:
    """Send `sig` to the child's process group (it and what it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """Treat SIGTERM and SIGHUP as Ctrl-C while the block runs: one clean stop for all."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

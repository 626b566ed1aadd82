"""WebSockets through one proxy process: 200 sockets held at once, and a browser that never reads.

A service (uvicorn, its own process) echoes and floods; a real `plugit proxy` (one worker) is
in front. The script reports the proxy's RSS before, with 200 open sockets (and per socket),
after closing them, the handshake time through the proxy, and the RSS while 10 stuck
browsers sit on a service that floods them for a few seconds.

    .venv/bin/python bench/ws_bench.py [--sockets 200] [--stuck 10] [--flood-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).parent))
from _harness import free_port, process

CHUNK = 64 * 1024


def serve_service(port: int) -> None:
    """The benchmark's service: `/echo` answers each message, `/flood` sends without end."""
    import uvicorn
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from plugit import Service, Settings

    root = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    (root / "templates").mkdir()
    service = Service("ws-bench", root=root, settings=Settings())

    @service.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    @service.websocket("/flood")
    async def flood(websocket: WebSocket) -> None:
        await websocket.accept()
        chunk = b"f" * CHUNK
        try:
            while True:
                await websocket.send_bytes(chunk)
        except WebSocketDisconnect:
            pass

    uvicorn.run(service, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)


def rss_kib(pid: int) -> int:
    """The resident memory of the process `pid` and its children (uvicorn's worker), in KiB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(entry) == pid or int(fields.get("PPid", "0").strip()) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total


async def open_socket(base: str, path: str) -> tuple[ClientConnection, float]:
    started = time.perf_counter()
    websocket = await connect(
        base.replace("http://", "ws://") + path,
        origin=base,
        open_timeout=30,  # type: ignore[arg-type]
    )
    await websocket.send("hello")
    assert await websocket.recv() == "hello"
    return websocket, time.perf_counter() - started


async def stuck_browser(base: str, path: str) -> asyncio.StreamWriter:
    """A socket that completes its handshake and then reads nothing."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {base}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return writer


async def measure(base: str, pid: int, sockets: int, stuck: int, flood_seconds: float) -> None:
    warm, _ = await open_socket(base, "/plugIt/echo")  # first socket: imports, the session
    await warm.close()
    before = rss_kib(pid)
    opened = await asyncio.gather(*(open_socket(base, "/plugIt/echo") for _ in range(sockets)))
    held = rss_kib(pid)
    for websocket, _ in opened:  # every socket still relays
        await websocket.send("still here")
        assert await websocket.recv() == "still here"
    times = sorted(elapsed * 1000 for _, elapsed in opened)
    await asyncio.gather(*(websocket.close() for websocket, _ in opened))
    await asyncio.sleep(1)
    after = rss_kib(pid)
    print(f"{sockets} concurrent sockets through one proxy process")
    print(f"  proxy RSS before      {before / 1024:8.1f} MiB")
    per_socket = (held - before) / sockets
    print(f"  proxy RSS with them   {held / 1024:8.1f} MiB  ({per_socket:.1f} KiB/socket)")
    print(f"  proxy RSS after close {after / 1024:8.1f} MiB")
    print(
        f"  open + first echo, opened all at once: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms"
    )
    sequential = []
    for _ in range(50):
        websocket, elapsed = await open_socket(base, "/plugIt/echo")
        sequential.append(elapsed * 1000)
        await websocket.close()
    print(f"  open + first echo, one at a time: median {statistics.median(sequential):.2f} ms")

    before = rss_kib(pid)
    writers = [await stuck_browser(base, "/plugIt/flood") for _ in range(stuck)]
    peak = before
    deadline = time.monotonic() + flood_seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        peak = max(peak, rss_kib(pid))
    print(f"{stuck} browsers that read nothing, their service flooding for {flood_seconds:g} s")
    print(f"  proxy RSS before      {before / 1024:8.1f} MiB")
    print(f"  proxy RSS peak        {peak / 1024:8.1f} MiB  (+{(peak - before) / 1024:.1f} MiB)")
    for writer in writers:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--stuck", type=int, default=10)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--serve-service", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_service:
        serve_service(args.serve_service)
        return
    service_port, proxy_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    data = tempfile.mkdtemp(prefix="ws-bench-proxy-")
    service = [sys.executable, __file__, "--serve-service", str(service_port)]
    plugit = str(Path(sys.executable).parent / "plugit")
    proxy = [plugit, "proxy", "--service", service_url, "--port", str(proxy_port)]
    proxy += ["--workers", "1", "--data-dir", data]
    with (
        process(service, f"{service_url}/version"),
        process(proxy, f"{proxy_url}/static/plugit_proxy/layout.css") as child,
    ):
        asyncio.run(measure(proxy_url, child.pid, args.sockets, args.stuck, args.flood_seconds))


if __name__ == "__main__":
    main()

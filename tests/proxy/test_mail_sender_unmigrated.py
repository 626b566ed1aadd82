"""The outbox sender of a proxy whose database was never migrated: one warning, no failures.

`plugit proxy` migrates before serving; an ASGI server pointed at `plugit_proxy.asgi` by
hand does not. The proxy runs in its own process on a fresh data folder, so no other test's
migration can hide the case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from plugit.testing import LiveServer

from .test_live import free_port


def wait_until_answering(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert process.poll() is None, "the proxy exited"
            assert time.monotonic() < deadline, "the proxy did not answer"
            time.sleep(0.1)


def test_unmigrated_database_gives_one_warning_and_no_failure(
    tmp_path: Path, demo_service: LiveServer
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "DJANGO_"))}
    env.update(
        PLUGIT_DATA_DIR=str(tmp_path / "data"),
        PLUGIT_SERVICE_URL=demo_service.url,
        PLUGIT_SECRET_KEY="tests-only-secret-key-" + "x" * 40,
    )
    command = [sys.executable, "-m", "uvicorn", "plugit_proxy.asgi:application"]
    command += ["--port", str(port), "--lifespan", "on"]
    log = tmp_path / "proxy.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        wait_until_answering(process, f"http://127.0.0.1:{port}/plugIt/")
        assert httpx.get(f"http://127.0.0.1:{port}/plugIt/").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)  # shutting down waits for the sender's pass
        process.wait(20)
    output = log.read_text()
    assert "Application shutdown complete" in output, output
    assert "no such table" not in output
    assert "the outbox pass failed" not in output
    warnings = [line for line in output.splitlines() if "WARNING plugit_proxy.mail" in line]
    assert len(warnings) == 1, output
    assert "plugit_mail_outboxmessage missing" in warnings[0]
    assert "migrate" in warnings[0]

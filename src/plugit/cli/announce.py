"""`plugit serve --register`: announce the service to a platform while it runs.

Once the server answers, the instance registers itself through the project's API
(`POST <platform>/p/<slug>/ebuio_api/instances/` with the project's API key), sends the same
call as a heartbeat at the interval the platform asks, and deregisters (`DELETE`) when the
server stops (SIGTERM, Ctrl-C). An instance that stops without a word (killed, its machine
gone) misses its heartbeats and expires on the platform (docs/routing.md).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import httpx

from plugit.exceptions import ConfigurationError

__all__ = ["Announcement", "Announcer", "announced_url"]

READY_TIMEOUT = 60.0
CALL_TIMEOUT = 10.0
ANY_ADDRESS = ("0.0.0.0", "::", "")


def announced_url(host: str, port: int, public_url: str | None) -> str:
    """The URL the platform calls this instance at: --public-url, else host and port."""
    if public_url:
        if not public_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"--public-url must start with http:// or https://, not {public_url!r}"
            )
        return public_url if public_url.endswith("/") else public_url + "/"
    if host in ANY_ADDRESS:
        raise ConfigurationError(
            f"--host {host or '0.0.0.0'} names no address the platform can call: give "
            "--public-url http://<this machine>:PORT"
        )
    name = f"[{host}]" if ":" in host else host
    return f"http://{name}:{port}/"


@dataclass(frozen=True, kw_only=True)
class Announcement:
    """Who announces what, where."""

    platform_url: str
    project: str
    version: str
    url: str
    api_key: str

    @property
    def endpoint(self) -> str:
        return f"{self.platform_url.rstrip('/')}/p/{self.project}/ebuio_api/instances/"


class Announcer:
    """Register, heartbeat and deregister one instance from a background thread."""

    def __init__(self, announcement: Announcement, *, local_url: str) -> None:
        self.announcement = announcement
        self.local_url = local_url  # where this process checks its own server is up
        self.interval = 10.0  # until the platform says otherwise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plugit-register", daemon=True)
        self._registered = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeats and deregister (the server has stopped)."""
        self._stop.set()
        self._thread.join(CALL_TIMEOUT)
        if not self._registered:
            return
        try:
            answer = self._call("DELETE")
        except httpx.HTTPError as error:
            _say(f"could not deregister from {self.announcement.platform_url}: {error}")
            return
        if answer.status_code < 400:
            _say(f"deregistered {self.announcement.url} from {self.announcement.platform_url}")

    def _run(self) -> None:
        if not self._wait_for_server():
            return
        while not self._stop.is_set():
            self._heartbeat()
            self._stop.wait(self.interval)

    def _wait_for_server(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                httpx.get(self.local_url, timeout=1.0)
            except httpx.HTTPError:
                self._stop.wait(0.1)
            else:
                return True
        return False

    def _heartbeat(self) -> None:
        """Register, or refresh the registration (the same call)."""
        a = self.announcement
        try:
            answer = self._call("POST")
        except httpx.HTTPError as error:
            _say(f"could not reach the platform {a.platform_url}: {error} (retrying)")
            return
        if answer.status_code >= 400:
            _say(f"the platform refused the registration ({answer.status_code}): {answer.text}")
            return
        data = answer.json()
        self.interval = max(0.2, float(data.get("heartbeat") or self.interval))
        if not self._registered or answer.status_code == 201:
            waiting = "" if data.get("approved") else ", waiting for an operator's approval"
            _say(f"registered {a.url} with {a.platform_url} as {a.project} ({a.version}){waiting}")
        self._registered = True

    def _call(self, method: str) -> httpx.Response:
        a = self.announcement
        return httpx.request(
            method,
            a.endpoint,
            json={"url": a.url, "version": a.version},
            headers={"Authorization": f"Bearer {a.api_key}"},
            timeout=CALL_TIMEOUT,
        )


def _say(line: str) -> None:
    print(f"plugit: {line}", file=sys.stderr, flush=True)

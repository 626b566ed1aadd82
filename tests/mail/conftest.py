"""Fixtures of the mail tests: a real SMTP server (aiosmtpd), real SDK services, the proxy on
a real socket, the reply receiver in a thread, and Dovecot for IMAP and POP3.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import smtplib
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

os.environ.setdefault("PLUGIT_DATA_DIR", tempfile.mkdtemp(prefix="plugit-mail-tests-"))
os.environ.setdefault("PLUGIT_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")

import django

django.setup()

import pytest  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from plugit import Request, Service, Settings  # noqa: E402
from plugit.testing import LiveServer  # noqa: E402
from plugit_proxy.asgi import build_application  # noqa: E402
from plugit_proxy.config import Project, ProxyConfig  # noqa: E402
from plugit_proxy.mail.models import InboundReply, OutboxMessage, ReplyRoute  # noqa: E402
from plugit_proxy.mail.receiver import ReplyReceiver  # noqa: E402
from plugit_proxy.platform.models import Project as PlatformProject  # noqa: E402
from plugit_proxy.platform.models import ProjectService  # noqa: E402

PROJECT = "polls"
PLATFORM_ADDRESS = "notifications@example.org"


def find_free_port() -> int:
    """A port nobody listens on right now (the SMTP server must come back on the same one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll `condition` until it gives something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"still waiting after {timeout} s for {condition}")


# -- The database -------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _migrated() -> None:
    call_command("migrate", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    yield
    InboundReply.objects.all().delete()
    ReplyRoute.objects.all().delete()
    OutboxMessage.objects.all().delete()
    PlatformProject.objects.all().delete()


# -- A service that receives replies ------------------------------------------------------------
@dataclass
class Mailbag:
    """What the service's mail callback saw; `failures` makes its next calls fail."""

    received: list[dict[str, str]] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def callback(self, request: Request) -> Any:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("the service is unwell")
            self.received.append(
                {"response_id": request.form["response_id"], "message": request.form["message"]}
            )
        return {"result": "Ok"}


@pytest.fixture(scope="module")
def _service_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Mailbag]]:
    bag = Mailbag()
    service = Service(
        root=tmp_path_factory.mktemp("service"), settings=Settings(), mail_callback=bag.callback
    )
    with LiveServer(service) as server:
        yield server, bag


@pytest.fixture
def service(_service_server: tuple[LiveServer, Mailbag]) -> tuple[str, Mailbag]:
    """A real SDK service with a mail callback, registered as the platform project `polls`."""
    server, bag = _service_server
    bag.received.clear()
    bag.failures = 0
    project = PlatformProject.objects.create(slug=PROJECT, name="Polls")
    ProjectService.objects.create(project=project, url=server.url)
    return server.url, bag


# -- An SMTP server that receives what the outbox sends ------------------------------------------
class Sink:
    """aiosmtpd handler keeping each mail; `refuse` answers 550 to every recipient,
    `greylist` answers 450 to those recipients, and a mail whose subject holds `hang_up_on`
    is refused with 554 and the connection closed (as strict servers do with malformed mail).
    """

    def __init__(self) -> None:
        self.mails: list[tuple[Envelope, EmailMessage]] = []
        self.refuse = False
        self.greylist: set[str] = set()
        self.hang_up_on = ""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 no such user"
        if address in self.greylist:
            return "450 4.2.0 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        if self.hang_up_on and self.hang_up_on in str(parsed["Subject"]):
            transport = server.transport
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)
            return "554 5.6.0 malformed message refused"
        self.mails.append((envelope, parsed))
        return "250 OK"


class SmtpServer:
    """A real SMTP server on a fixed free port, which a test may stop and start again."""

    def __init__(self) -> None:
        self.port = find_free_port()
        self.sink = Sink()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.port, server_hostname="localhost"
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def mails(self) -> list[tuple[Envelope, EmailMessage]]:
        return self.sink.mails

    def settings(self) -> override_settings:
        """Settings that send the outbox to this server."""
        return override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
        )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server; the outbox sends to it for the test's duration."""
    server = SmtpServer().start()
    with server.settings():
        yield server
    server.stop()


# -- The proxy, on a real socket, with its background sender ------------------------------------
@pytest.fixture
def proxy(service: tuple[str, Mailbag]) -> Iterator[str]:
    """The proxy for project `polls` (at /plugIt/); its background sender runs; the API root."""
    project = Project(key=PROJECT, name="Polls", mount="/plugIt/", service_urls=(service[0],))
    app = build_application(ProxyConfig(standalone=False, projects=(project,)))
    with override_settings(PLUGIT_MAIL_WORKER_INTERVAL=0.2), LiveServer(app) as server:
        yield server.url + "/plugIt/ebuio_api/"


# -- The reply receiver (SMTP/LMTP), in a thread with its own loop -------------------------------
class ReceiverThread:
    """Run a `ReplyReceiver` in a background thread until `stop()`."""

    def __init__(self, *, lmtp: bool = False) -> None:
        self.receiver = ReplyReceiver(host="127.0.0.1", port=0, lmtp=lmtp, interval=0.2)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self.receiver.start()
        self._ready.set()
        await self._stopping.wait()
        await self.receiver.stop()

    def start(self) -> ReceiverThread:
        self._thread.start()
        assert self._ready.wait(10), "the receiver did not start"
        return self

    def stop(self) -> None:
        assert self._loop is not None
        assert self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    @property
    def port(self) -> int:
        return self.receiver.port


@pytest.fixture
def receiver() -> Iterator[Callable[..., ReceiverThread]]:
    """`receiver(lmtp=False)`: a started reply receiver, stopped after the test."""
    started: list[ReceiverThread] = []

    def start(*, lmtp: bool = False) -> ReceiverThread:
        started.append(ReceiverThread(lmtp=lmtp).start())
        return started[-1]

    with override_settings(PLUGIT_MAIL_RETRY_BASE=0.2, PLUGIT_MAIL_RETRY_CAP=0.5):
        yield start
    for thread in started:
        if thread._thread.is_alive():
            thread.stop()


def smtp_send(port: int, message: EmailMessage, *, to: str, lmtp: bool = False) -> None:
    """Hand `message` to the server on `port` over SMTP (or LMTP)."""
    client = smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port)
    with client:
        client.send_message(message, from_addr="user@example.com", to_addrs=[to])


# -- Dovecot, for the poller ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def _dovecot() -> Iterator[Any]:
    from .dovecot import Dovecot

    if shutil.which("dovecot") is None:
        message = "dovecot is not installed: apt-get install -y dovecot-imapd dovecot-pop3d"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(_dovecot: Any) -> Iterator[Any]:
    """A running Dovecot whose INBOX is empty at the start and the end of the test."""
    _dovecot.clear()
    yield _dovecot
    _dovecot.clear()

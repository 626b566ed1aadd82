"""`plugit mail receive`: an SMTP (or LMTP) endpoint for the platform's replies (aiosmtpd).

The platform's MX (or the local MTA, over LMTP) hands replies here. A mail addressed to
`<platform local part>+<token>@<platform domain>`, whose token names a live reply route, is
stored in the database before the server answers 250, so an accepted reply survives anything;
any other recipient (a stranger, a malformed, forged or expired token) is refused with 550 at
RCPT, so nothing is stored for it, and a mail over PLUGIT_MAIL_RECEIVE_MAX_SIZE is refused (552).
A task of the same loop then delivers stored replies to their services (in a thread: the ORM
and the HTTP call block), retrying with a doubling wait while a service fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import close_old_connections, connections
from django.utils import timezone

from ..tasks import cancel_and_wait
from . import tokens
from .conf import MailSettings, mail_settings
from .delivery import Outcome, Resolver, Result, deliver, find_route
from .inbound import UnusableMail
from .leases import claim, due
from .models import InboundReply, backoff
from .resolver import resolve_service_urls

__all__ = ["ReplyHandler", "ReplyReceiver", "deliver_pending", "store_reply"]

logger = logging.getLogger("plugit_proxy.mail")

Status = InboundReply.Status


def store_reply(raw: bytes, *, mail_from: str, recipients: list[str], source: str) -> int:
    """Keep an accepted reply until it is delivered; give its id."""
    try:
        reply = InboundReply.objects.create(
            source=source, mail_from=mail_from[:320], recipients=recipients, raw=raw
        )
        return reply.pk
    finally:
        close_old_connections()


def check_token(token: str) -> None:
    """Raise `UnusableMail` unless `token` names a live reply route."""
    try:
        find_route(token)
    finally:
        close_old_connections()


class ReplyHandler:
    """aiosmtpd hooks: refuse strangers at RCPT, store the mail before answering 250."""

    def __init__(self, *, platform_address: str, lmtp: bool = False) -> None:
        self.platform_address = platform_address
        self.lmtp = lmtp
        self.stored = asyncio.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        refused = f"550 5.1.1 <{address}>: no such mailbox here"
        token = tokens.find_token([address], self.platform_address)
        if token is None:
            return refused
        try:
            await asyncio.to_thread(check_token, token)
        except UnusableMail as error:
            logger.warning("refused at RCPT: %s", error)
            return refused
        except Exception:
            logger.exception("could not check a reply token; the sender will try again")
            return "451 4.3.0 cannot check the address now, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await asyncio.to_thread(
                store_reply,
                raw,
                mail_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                source="lmtp" if self.lmtp else "smtp",
            )
        except Exception:
            logger.exception("could not store a reply; the sender will try again")
            return "451 4.3.0 cannot store the mail now, try again later"
        self.stored.set()
        accepted = "250 2.0.0 OK: queued for delivery"
        # LMTP answers once per recipient.
        return "\r\n".join([accepted] * len(envelope.rcpt_tos)) if self.lmtp else accepted


def _claim(pk: int, conf: MailSettings) -> InboundReply | None:
    return claim(
        InboundReply, pk, waiting=Status.PENDING, working=Status.DELIVERING, lease=conf.lease
    )


def _record(reply: InboundReply, result: Result, conf: MailSettings) -> None:
    values: dict[str, Any] = {"route_id": result.route_id, "last_error": result.reason[:2000]}
    if result.outcome is Outcome.DELIVERED:
        values |= {"status": Status.DELIVERED, "delivered_at": timezone.now()}
    elif result.outcome is Outcome.REJECTED:
        values["status"] = Status.REJECTED
    elif reply.attempts >= conf.max_attempts:
        values["status"] = Status.FAILED
        logger.error("reply %s not delivered after %d tries", reply.pk, reply.attempts)
    else:
        wait = backoff(reply.attempts, base=conf.retry_base, cap=conf.retry_cap)
        values |= {"status": Status.PENDING, "next_attempt_at": timezone.now() + wait}
    InboundReply.objects.filter(
        pk=reply.pk, status=Status.DELIVERING, claimed_at=reply.claimed_at
    ).update(**values)


def deliver_pending(*, resolve: Resolver = resolve_service_urls) -> int:
    """Deliver the stored replies that are due; give how many were handled."""
    conf = mail_settings()
    waiting = due(Status.PENDING, Status.DELIVERING, conf.lease, timezone.now())
    due_replies = InboundReply.objects.filter(waiting).order_by("next_attempt_at", "pk")
    handled = 0
    try:
        for pk in list(due_replies.values_list("pk", flat=True)[: conf.batch]):
            reply = _claim(pk, conf)
            if reply is None:
                continue
            result = deliver(bytes(reply.raw), envelope=reply.recipients, resolve=resolve)
            _record(reply, result, conf)
            handled += 1
    finally:
        close_old_connections()
    return handled


class ReplyReceiver:
    """The SMTP/LMTP server and its delivery task, in the running event loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8025,
        lmtp: bool = False,
        interval: float = 5.0,
        resolve: Resolver = resolve_service_urls,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.lmtp = host, port, lmtp
        self.interval = interval
        self.resolve = resolve
        self.tls_context = tls_context
        self.handler = ReplyHandler(platform_address=mail_settings().sender, lmtp=lmtp)
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="plugit-mail-receive")

    def _protocol(self) -> SMTP:
        kind = LMTP if self.lmtp else SMTP
        _, domain = tokens.split_address(self.handler.platform_address)
        return kind(
            self.handler,
            hostname=domain,
            data_size_limit=mail_settings().receive_max_size,
            tls_context=self.tls_context,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        """Listen (port 0: any free port, then `port` tells which) and start delivering."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._task = loop.create_task(self._deliver_forever(), name="plugit-mail-deliver")
        logger.info("receiving replies over %s on %s:%s", self.kind, self.host, self.port)

    @property
    def kind(self) -> str:
        """`LMTP` or `SMTP`."""
        return "LMTP" if self.lmtp else "SMTP"

    async def stop(self) -> None:
        """Stop listening and delivering; replies not yet delivered stay stored."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await cancel_and_wait(self._task)
        self._task = None
        self._executor.submit(connections.close_all)
        await asyncio.to_thread(self._executor.shutdown, wait=True)

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def _deliver_forever(self) -> None:
        loop = asyncio.get_running_loop()
        stored = self.handler.stored
        while True:
            stored.clear()
            await asyncio.shield(loop.run_in_executor(self._executor, self._deliver_once))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stored.wait(), self.interval)

    def _deliver_once(self) -> None:
        try:
            deliver_pending(resolve=self.resolve)
        except Exception:
            logger.exception("delivering stored replies failed")

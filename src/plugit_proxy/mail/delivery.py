"""Hand a received reply to the service that asked for it: the one code path of the poller
and the SMTP endpoint.

`deliver` never raises. It answers `DELIVERED` once the service said `{"result": "Ok"}`,
`REJECTED` for a mail that must be set aside (forged, expired or malformed token, auto-reply,
unparsable mail, a sender the original mail was not sent to) and `RETRY` when the service (or
the database) failed and a later try may succeed. The caller deletes or keeps the mail
accordingly.

A token is only good in the hands of the people its mail went to: the reply's `From` address
must be one of the original mail's recipients. `From` rather than the envelope sender, which
forwarding (SRS) rewrites and the poller never sees; a forwarded copy answered from another
address is set aside like a forged token.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

import httpx
from django.db.models import F
from django.utils import timezone

from plugit.protocol import PATH_MAIL

from . import tokens
from .conf import MailSettings, mail_settings
from .inbound import Reply, UnusableMail, parse_reply
from .models import InboundReply, ReplyRoute
from .resolver import resolve_service_urls

__all__ = ["Outcome", "Resolver", "Result", "deliver", "find_route", "set_aside"]

logger = logging.getLogger("plugit_proxy.mail")

Resolver = Callable[[str], Sequence[str]]


class Outcome(enum.Enum):
    """What became of one reply."""

    DELIVERED = "delivered"
    REJECTED = "rejected"
    RETRY = "retry"


@dataclass(frozen=True)
class Result:
    """The outcome of one delivery, why, and the route it used (if any)."""

    outcome: Outcome
    reason: str = ""
    route_id: int | None = None


def find_route(token: str) -> ReplyRoute:
    """The live route `token` names; `UnusableMail` when it is malformed, forged or expired."""
    parsed = tokens.parse_token(token)
    if parsed is None:
        raise UnusableMail(f"malformed reply token {token[:80]!r}")
    route = ReplyRoute.objects.select_related("message").filter(pk=parsed.route_id).first()
    if route is None or not tokens.verify(parsed, route.project_key):
        raise UnusableMail(f"forged or unknown reply token {token!r}")
    if route.expired:
        raise UnusableMail(f"expired reply token {token!r} (route {route.pk})")
    return route


def _check_sender(route: ReplyRoute, reply: Reply) -> None:
    """Accept a reply only from an address the original mail was sent to."""
    if route.message is None:
        raise UnusableMail(f"the mail of route {route.pk} is gone: nobody may answer it")
    allowed = {address.lower() for _, address in getaddresses(route.message.recipients)}
    sender = parseaddr(reply.sender)[1].lower()
    if not sender or sender not in allowed:
        raise UnusableMail(
            f"reply from {sender or reply.sender!r}, to whom route {route.pk}'s mail was not sent"
        )


def _accepted(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == 200 and isinstance(body, dict) and body.get("result") == "Ok"


def _post(urls: Sequence[str], route: ReplyRoute, reply: Reply, timeout: float) -> str | None:
    """POST the reply to each instance in turn; None once one accepted it, else why not."""
    problems = []
    form = {"response_id": route.response_id, "message": reply.text}
    for url in urls:
        try:
            response = httpx.post(url + PATH_MAIL, data=form, timeout=timeout)
        except httpx.HTTPError as error:
            problems.append(f"{url}: {type(error).__name__}: {error}")
            continue
        if _accepted(response):
            return None
        problems.append(f"{url}: answered {response.status_code} {response.text[:200]!r}")
    return "; ".join(problems)


def deliver(
    raw: bytes,
    *,
    envelope: Sequence[str] = (),
    resolve: Resolver = resolve_service_urls,
    conf: MailSettings | None = None,
) -> Result:
    """Deliver one raw reply to its service; see the module's docstring."""
    conf = conf or mail_settings()
    try:
        reply = parse_reply(raw, envelope=envelope, platform_address=conf.sender)
        if reply.automatic:
            raise UnusableMail(f"auto-reply from {reply.sender!r}")
        route = find_route(reply.token)
        _check_sender(route, reply)
    except UnusableMail as error:
        logger.warning("reply set aside: %s", error)
        return Result(Outcome.REJECTED, str(error))
    except Exception as error:  # e.g. the database is away: try again later
        logger.exception("reply not delivered")
        return Result(Outcome.RETRY, f"{type(error).__name__}: {error}")
    return _deliver_to_service(route, reply, resolve, conf)


def _deliver_to_service(
    route: ReplyRoute, reply: Reply, resolve: Resolver, conf: MailSettings
) -> Result:
    try:
        urls = resolve(route.project_key)
    except Exception as error:  # the database is away: try again later
        logger.exception("no service found for route %s", route.pk)
        return Result(Outcome.RETRY, f"{type(error).__name__}: {error}", route.pk)
    if urls:
        problem = _post(urls, route, reply, conf.delivery_timeout)
    else:
        problem = f"no service is configured for project {route.project_key!r}"
    if problem is not None:
        logger.warning("reply for route %s not delivered, will retry: %s", route.pk, problem)
        return Result(Outcome.RETRY, problem, route.pk)
    try:
        ReplyRoute.objects.filter(pk=route.pk).update(
            replies=F("replies") + 1, last_reply_at=timezone.now()
        )
    except Exception:  # delivered all the same: never deliver it twice for a counter
        logger.exception("could not count the reply of route %s", route.pk)
    logger.info("reply delivered to project %s (route %s)", route.project_key, route.pk)
    return Result(Outcome.DELIVERED, "", route.pk)


def set_aside(
    raw: bytes, *, source: str, reason: str, envelope: Sequence[str] = (), mail_from: str = ""
) -> InboundReply:
    """Keep a mail that will not be delivered where operators can see it (the admin)."""
    return InboundReply.objects.create(
        source=source,
        mail_from=mail_from[:320],
        recipients=list(envelope),
        raw=raw,
        status=InboundReply.Status.REJECTED,
        last_error=reason[:2000],
    )

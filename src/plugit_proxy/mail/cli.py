"""`plugit mail worker|poll|receive`: send queued mail, read the mailbox, receive replies.

Every flag also reads a `PLUGIT_*` environment variable; flags win. The mailbox password is
never a flag: `--password-env` names the variable that holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
from typing import Any

__all__ = ["register"]

env = os.environ.get


def _env_bool(name: str) -> bool:
    return env(name, "").strip().lower() in {"1", "true", "yes", "on"}


def register(commands: Any) -> None:
    """Add the `mail` command group."""
    parser = commands.add_parser("mail", help="send queued mail, poll or receive replies")
    actions = parser.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    _worker_parser(actions)
    _poll_parser(actions)
    _receive_parser(actions)


def _worker_parser(actions: Any) -> None:
    worker = actions.add_parser(
        "worker", help="send the outbox's mail (the platform server also does it itself)"
    )
    worker.add_argument(
        "--interval",
        type=float,
        default=float(env("PLUGIT_MAIL_WORKER_INTERVAL", "10")),
        help="seconds between passes (PLUGIT_MAIL_WORKER_INTERVAL)",
    )
    worker.add_argument(
        "--once",
        action="store_true",
        default=_env_bool("PLUGIT_MAIL_WORKER_ONCE"),
        help="one pass, then exit (PLUGIT_MAIL_WORKER_ONCE)",
    )
    worker.set_defaults(handler=_worker)


def _poll_parser(actions: Any) -> None:
    poll = actions.add_parser("poll", help="read the platform mailbox (IMAP or POP3)")
    poll.add_argument(
        "--once",
        action="store_true",
        default=_env_bool("PLUGIT_MAIL_POLL_ONCE"),
        help="poll once, then exit (PLUGIT_MAIL_POLL_ONCE)",
    )
    poll.add_argument(
        "--protocol",
        choices=["imap", "pop3"],
        default=env("PLUGIT_MAIL_POLL_PROTOCOL", "imap"),
        help="(PLUGIT_MAIL_POLL_PROTOCOL)",
    )
    poll.add_argument(
        "--host", default=env("PLUGIT_MAIL_POLL_HOST", ""), help="(PLUGIT_MAIL_POLL_HOST)"
    )
    poll.add_argument(
        "--port",
        type=int,
        default=int(env("PLUGIT_MAIL_POLL_PORT", "0")) or None,
        help="the protocol's usual port by default (PLUGIT_MAIL_POLL_PORT)",
    )
    security = poll.add_mutually_exclusive_group()
    default_security = env("PLUGIT_MAIL_POLL_SECURITY", "ssl")
    security.add_argument(
        "--ssl",
        dest="security",
        action="store_const",
        const="ssl",
        help="TLS from the first byte, the default (PLUGIT_MAIL_POLL_SECURITY=ssl)",
    )
    security.add_argument(
        "--starttls",
        dest="security",
        action="store_const",
        const="starttls",
        help="upgrade a plain connection (PLUGIT_MAIL_POLL_SECURITY=starttls)",
    )
    security.add_argument(
        "--no-tls",
        dest="security",
        action="store_const",
        const="none",
        help="no encryption, for a server on this machine (PLUGIT_MAIL_POLL_SECURITY=none)",
    )
    poll.set_defaults(security=default_security)
    poll.add_argument(
        "--user", default=env("PLUGIT_MAIL_POLL_USER", ""), help="(PLUGIT_MAIL_POLL_USER)"
    )
    poll.add_argument(
        "--password-env",
        default=env("PLUGIT_MAIL_POLL_PASSWORD_ENV", "PLUGIT_MAIL_POLL_PASSWORD"),
        help="the variable holding the password, PLUGIT_MAIL_POLL_PASSWORD by default "
        "(PLUGIT_MAIL_POLL_PASSWORD_ENV)",
    )
    poll.add_argument(
        "--folder",
        default=env("PLUGIT_MAIL_POLL_FOLDER", "INBOX"),
        help="IMAP folder (PLUGIT_MAIL_POLL_FOLDER)",
    )
    poll.add_argument(
        "--cafile",
        default=env("PLUGIT_MAIL_POLL_CAFILE"),
        help="trust this CA bundle instead of the system's (PLUGIT_MAIL_POLL_CAFILE)",
    )
    poll.add_argument(
        "--interval",
        type=float,
        default=float(env("PLUGIT_MAIL_POLL_INTERVAL", "60")),
        help="seconds between polls (PLUGIT_MAIL_POLL_INTERVAL)",
    )
    poll.set_defaults(handler=_poll)


def _receive_parser(actions: Any) -> None:
    receive = actions.add_parser("receive", help="an SMTP (or LMTP) endpoint for replies")
    receive.add_argument(
        "--host",
        default=env("PLUGIT_MAIL_RECEIVE_HOST", "127.0.0.1"),
        help="(PLUGIT_MAIL_RECEIVE_HOST)",
    )
    receive.add_argument(
        "--port",
        type=int,
        default=int(env("PLUGIT_MAIL_RECEIVE_PORT", "8025")),
        help="(PLUGIT_MAIL_RECEIVE_PORT)",
    )
    receive.add_argument(
        "--lmtp",
        action="store_true",
        default=_env_bool("PLUGIT_MAIL_RECEIVE_LMTP"),
        help="speak LMTP (for a local MTA) instead of SMTP (PLUGIT_MAIL_RECEIVE_LMTP)",
    )
    receive.set_defaults(handler=_receive)


def _setup() -> bool:
    """Set Django up, check the mail settings, migrate the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")
    import django

    django.setup()
    from .checks import check_mail_settings

    errors = check_mail_settings()
    for error in errors:
        print(f"plugit: error: {error.msg}", file=sys.stderr)
    if errors:
        return False
    from ..firststart import migrate_database

    migrate_database()
    return True


def _worker(args: argparse.Namespace) -> int:
    if not _setup():
        return 2
    from .worker import run_worker, send_once

    if args.once:
        report = send_once()
        if report is None:
            return 1
        print(
            f"sent {len(report.sent)}, retried {len(report.retried)}, failed {len(report.failed)}"
        )
        return 0
    run_worker(interval=args.interval)
    return 0


def _mailbox(args: argparse.Namespace) -> Any:
    from .poller import Mailbox, Protocol, Security

    password = env(args.password_env)
    if password is None:
        from plugit.exceptions import ConfigurationError

        raise ConfigurationError(f"Set the mailbox password in ${args.password_env}.")
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    return Mailbox(
        host=args.host,
        port=args.port,
        user=args.user,
        password=password,
        protocol=Protocol(args.protocol),
        security=Security(args.security),
        folder=args.folder,
        ssl_context=context,
    )


def _poll(args: argparse.Namespace) -> int:
    if not _setup():
        return 2
    box = _mailbox(args)
    from .poller import poll_forever, poll_once

    if args.once:
        report = poll_once(box)
        print(f"delivered {report.delivered}, set aside {report.set_aside}, kept {report.kept}")
        return 0
    poll_forever(box, interval=args.interval)
    return 0


def _receive(args: argparse.Namespace) -> int:
    if not _setup():
        return 2
    from .receiver import ReplyReceiver

    receiver = ReplyReceiver(host=args.host, port=args.port, lmtp=args.lmtp)
    asyncio.run(receiver.serve_forever())
    return 0

"""`plugit mail worker|poll|receive`: send queued mail, read the mailbox, receive replies.

Every flag also reads a `PLUGIT_*` environment variable; flags win (plugit_proxy.conf meets
them). The mailbox password is never a flag: `--password-env` names the variable that holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from typing import Any

from ..conf import MailCommandsConfig, load_mail_commands, secret_from

__all__ = ["register"]

# Each flag (its argparse destination) and the variable it stands for.
FLAG_VARIABLES = {
    "interval": "PLUGIT_MAIL_{command}_INTERVAL",
    "once": "PLUGIT_MAIL_{command}_ONCE",
    "protocol": "PLUGIT_MAIL_POLL_PROTOCOL",
    "host": "PLUGIT_MAIL_{command}_HOST",
    "port": "PLUGIT_MAIL_{command}_PORT",
    "security": "PLUGIT_MAIL_POLL_SECURITY",
    "user": "PLUGIT_MAIL_POLL_USER",
    "password_env": "PLUGIT_MAIL_POLL_PASSWORD_ENV",
    "folder": "PLUGIT_MAIL_POLL_FOLDER",
    "cafile": "PLUGIT_MAIL_POLL_CAFILE",
    "lmtp": "PLUGIT_MAIL_RECEIVE_LMTP",
}


def register(commands: Any) -> None:
    """Add the `mail` command group."""
    parser = commands.add_parser(
        "mail",
        help="send queued mail, poll or receive replies",
        description="The platform's mail: send the outbox (worker), read replies from a "
        "mailbox (poll) or receive them over SMTP or LMTP (receive). Flags win over their "
        "PLUGIT_MAIL_* variables.",
    )
    actions = parser.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    _worker_parser(actions)
    _poll_parser(actions)
    _receive_parser(actions)


def _settings(args: argparse.Namespace, command: str) -> MailCommandsConfig:
    """The command's settings: its flags given, then the environment, then the defaults."""
    flags = {
        template.format(command=command): getattr(args, dest)
        for dest, template in FLAG_VARIABLES.items()
        if hasattr(args, dest)
    }
    return load_mail_commands(flags)


def _worker_parser(actions: Any) -> None:
    worker = actions.add_parser(
        "worker",
        help="send the outbox's mail (the platform server also does it itself)",
        description="Send the mail queued in the platform's outbox, retrying failures, until "
        "interrupted (or once, with --once).",
    )
    worker.add_argument(
        "--interval",
        type=float,
        help="seconds between passes, 10 by default (PLUGIT_MAIL_WORKER_INTERVAL)",
    )
    worker.add_argument(
        "--once",
        action="store_true",
        default=None,
        help="one pass, then exit (PLUGIT_MAIL_WORKER_ONCE)",
    )
    worker.set_defaults(handler=_worker)


def _poll_parser(actions: Any) -> None:
    poll = actions.add_parser(
        "poll",
        help="read the platform mailbox (IMAP or POP3)",
        description="Read replies from the platform's mailbox over IMAP or POP3 and deliver "
        "them to their threads, until interrupted (or once, with --once).",
    )
    poll.add_argument(
        "--once",
        action="store_true",
        default=None,
        help="poll once, then exit (PLUGIT_MAIL_POLL_ONCE)",
    )
    poll.add_argument(
        "--protocol", choices=["imap", "pop3"], help="imap by default (PLUGIT_MAIL_POLL_PROTOCOL)"
    )
    poll.add_argument("--host", help="the mailbox's server (PLUGIT_MAIL_POLL_HOST)")
    poll.add_argument(
        "--port",
        type=int,
        help="the protocol's usual port by default (PLUGIT_MAIL_POLL_PORT)",
    )
    security = poll.add_mutually_exclusive_group()
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
    poll.set_defaults(security=None)
    poll.add_argument("--user", help="the mailbox's account (PLUGIT_MAIL_POLL_USER)")
    poll.add_argument(
        "--password-env",
        help="the variable holding the password, PLUGIT_MAIL_POLL_PASSWORD by default "
        "(PLUGIT_MAIL_POLL_PASSWORD_ENV)",
    )
    poll.add_argument("--folder", help="IMAP folder, INBOX by default (PLUGIT_MAIL_POLL_FOLDER)")
    poll.add_argument(
        "--cafile",
        help="trust this CA bundle instead of the system's (PLUGIT_MAIL_POLL_CAFILE)",
    )
    poll.add_argument(
        "--interval",
        type=float,
        help="seconds between polls, 60 by default (PLUGIT_MAIL_POLL_INTERVAL)",
    )
    poll.set_defaults(handler=_poll)


def _receive_parser(actions: Any) -> None:
    receive = actions.add_parser(
        "receive",
        help="an SMTP (or LMTP) endpoint for replies",
        description="Receive replies over SMTP (or LMTP, from a local mail server) and "
        "deliver them to their threads, until interrupted.",
    )
    receive.add_argument("--host", help="127.0.0.1 by default (PLUGIT_MAIL_RECEIVE_HOST)")
    receive.add_argument("--port", type=int, help="8025 by default (PLUGIT_MAIL_RECEIVE_PORT)")
    receive.add_argument(
        "--lmtp",
        action="store_true",
        default=None,
        help="speak LMTP (for a local MTA) instead of SMTP (PLUGIT_MAIL_RECEIVE_LMTP)",
    )
    receive.set_defaults(handler=_receive)


def _setup() -> bool:
    """Set Django up, check the mail settings, migrate the database."""
    from ..setup import configure

    configure()
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
    settings = _settings(args, "WORKER")
    if not _setup():
        return 2
    from .worker import run_worker, send_once

    if settings.worker_once:
        report = send_once()
        if report is None:
            return 1
        print(
            f"sent {len(report.sent)}, retried {len(report.retried)}, failed {len(report.failed)}"
        )
        return 0
    run_worker(interval=settings.worker_interval)
    return 0


def _mailbox(settings: MailCommandsConfig) -> Any:
    from .poller import Mailbox, Protocol, Security

    password = secret_from(settings.poll_password_env)
    if password is None:
        from plugit.exceptions import ConfigurationError

        raise ConfigurationError(f"Set the mailbox password in ${settings.poll_password_env}.")
    cafile = settings.poll_cafile
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    return Mailbox(
        host=settings.poll_host,
        port=settings.poll_port,
        user=settings.poll_user,
        password=password,
        protocol=Protocol(settings.poll_protocol),
        security=Security(settings.poll_security),
        folder=settings.poll_folder,
        ssl_context=context,
    )


def _poll(args: argparse.Namespace) -> int:
    settings = _settings(args, "POLL")
    if not _setup():
        return 2
    box = _mailbox(settings)
    from .poller import poll_forever, poll_once

    if settings.poll_once:
        report = poll_once(box)
        print(f"delivered {report.delivered}, set aside {report.set_aside}, kept {report.kept}")
        return 0
    poll_forever(box, interval=settings.poll_interval)
    return 0


def _receive(args: argparse.Namespace) -> int:
    settings = _settings(args, "RECEIVE")
    if not _setup():
        return 2
    from .receiver import ReplyReceiver

    receiver = ReplyReceiver(
        host=settings.receive_host, port=settings.receive_port, lmtp=settings.receive_lmtp
    )
    asyncio.run(receiver.serve_forever())
    return 0

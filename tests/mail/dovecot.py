"""A throwaway Dovecot (IMAP, POP3, each plain+STARTTLS and SSL) for the poller's tests.

Everything lives in a temporary folder: configuration, a self-signed certificate, a
passwd-file with one user, and that user's Maildir. Ports are free ones; nothing is installed
or changed outside the folder. As root, mail is stored as the `dovecot` user (Dovecot refuses
uid 0); otherwise as the current user.
"""

from __future__ import annotations

import getpass
import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "replies", "secret-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, ports: dict[str, int], mail_user: str, login_user: str) -> str:
    listeners = "".join(
        f"service {protocol}-login {{\n  chroot =\n"
        f"  inet_listener {protocol} {{\n    port = {ports[protocol]}\n  }}\n"
        f"  inet_listener {protocol}s {{\n    port = {ports[protocol + 's']}\n  }}\n}}\n"
        for protocol in ("imap", "pop3")
    )
    return f"""
instance_name = plugit-test-{os.getpid()}-{ports["imap"]}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {mail_user}
default_login_user = {login_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
{listeners}"""


class Dovecot:
    """Start with `start()`, stop with `stop()`; `context` trusts its certificate."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="plugit-dovecot-"))
        self.root.chmod(0o755)  # the login processes run as another user
        self.ports = {name: _free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        root = self.root
        for folder in ("run", "state", "home"):
            (root / folder).mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        if os.geteuid() == 0:
            mail_user, login_user = "dovecot", "dovenull"
            shutil.chown(root / "home", mail_user, mail_user)
        else:
            mail_user = login_user = getpass.getuser()
        config = root / "dovecot.conf"
        config.write_text(_config(root, self.ports, mail_user, login_user))
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited:\n{self.log()}")
            try:
                with self.imap() as client:
                    client.noop()
                return
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root / "cert.pem"))

    def imap(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=5)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes) -> None:
        """Put a mail in the user's INBOX."""
        with self.imap() as client:
            status, _ = client.append("INBOX", None, None, raw)
            assert status == "OK"

    def count(self) -> int:
        """How many mails the INBOX holds (deleted ones excluded)."""
        with self.imap() as client:
            client.select("INBOX")
            _, found = client.search(None, "UNDELETED")
            return len((found[0] or b"").split())

    def clear(self) -> None:
        with self.imap() as client:
            _, count = client.select("INBOX")
            if int(count[0] or 0):
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()

"""Django's EMAIL_* settings from one URL, `PLUGIT_EMAIL_URL`.

    smtp://user:password@host:587?starttls=true     SMTP, upgraded with STARTTLS
    smtp+starttls://user:password@host:587          the same
    smtps://user:password@host:465                  SMTP over TLS from the first byte
    smtp://host:25                                  plain SMTP (a local relay)
    console://                                      print each mail (the default)
    file:///var/mail/plugit                         one file per mail in that folder
    locmem://   dummy://                            keep in memory / drop (tests)

User and password are URL-encoded (`%40` for `@`). `?timeout=20` sets the socket timeout.
Read once when the settings load (this module imports nothing from Django).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from plugit.exceptions import ConfigurationError

__all__ = ["EmailConfig", "parse_email_url"]

BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
SMTP_SCHEMES = {"smtp": False, "smtp+starttls": True, "submission": True, "smtps": False}
TRUE = {"1", "true", "yes", "on"}
DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True, kw_only=True)
class EmailConfig:
    """The EMAIL_* settings one URL stands for."""

    backend: str = BACKENDS["console"]
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    timeout: float = DEFAULT_TIMEOUT
    file_path: str | None = None


def parse_email_url(url: str, *, default_backend: str = "") -> EmailConfig:
    """Read `url` (empty: `default_backend`, else the console) into an `EmailConfig`."""
    if not url.strip():
        return EmailConfig(backend=default_backend or BACKENDS["console"])
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    timeout = _timeout(query.get("timeout"), url)
    if scheme in SMTP_SCHEMES:
        return _smtp(parts, scheme, query, timeout, url)
    if scheme == "file":
        if not parts.path:
            raise ConfigurationError(f"PLUGIT_EMAIL_URL {url!r} names no folder: file:///path.")
        return EmailConfig(backend=BACKENDS["file"], file_path=unquote(parts.path))
    if scheme in BACKENDS:
        return EmailConfig(backend=BACKENDS[scheme], timeout=timeout)
    known = ", ".join(sorted({*SMTP_SCHEMES, *BACKENDS}))
    raise ConfigurationError(f"PLUGIT_EMAIL_URL {url!r}: unknown scheme; use one of {known}.")


def _smtp(
    parts: SplitResult, scheme: str, query: dict[str, str], timeout: float, url: str
) -> EmailConfig:
    host = parts.hostname
    if not host:
        raise ConfigurationError(f"PLUGIT_EMAIL_URL {url!r} names no host: smtp://host:port.")
    use_ssl = scheme == "smtps" or query.get("ssl", "").lower() in TRUE
    use_tls = SMTP_SCHEMES[scheme] or query.get("starttls", query.get("tls", "")).lower() in TRUE
    if use_ssl and use_tls:
        raise ConfigurationError(
            f"PLUGIT_EMAIL_URL {url!r} asks for both SSL and STARTTLS; choose one."
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"PLUGIT_EMAIL_URL {url!r} has a bad port.") from None
    return EmailConfig(
        backend=BACKENDS["smtp"],
        host=host,
        port=port or (465 if use_ssl else 587 if use_tls else 25),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
        timeout=timeout,
    )


def _timeout(value: str | None, url: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ConfigurationError(f"PLUGIT_EMAIL_URL {url!r}: timeout must be positive seconds.")
    return seconds

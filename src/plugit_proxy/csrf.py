"""CSRF for the page pipeline, with Django's semantics and Django's own token functions.

The secret lives in the `csrftoken` cookie; pages get a masked token; an unsafe request must
send a token (form field `csrfmiddlewaretoken` or header `X-CSRFToken`) that unmasks to the
cookie's secret, and come from this site or a trusted origin: its `Origin` says so, or, over
HTTPS without an `Origin`, its `Referer` (as Django's CsrfViewMiddleware decides; the
differential tests in tests/proxy/test_django_parity.py hold the two together).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CSRF_TOKEN_LENGTH,
    InvalidTokenFormat,
)
from django.utils.crypto import get_random_string
from django.utils.http import is_same_domain
from starlette.responses import Response

from plugit.protocol import CSRF_FORM_FIELD

from .cookies import samesite, vary_on_cookie
from .djangointernals import check_token_format, does_token_match, unmask_cipher_token

__all__ = [
    "SAFE_METHODS",
    "CsrfConfig",
    "CsrfState",
    "TrustedOrigins",
    "UnsafeRequest",
    "mask_secret",
    "new_secret",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}
# Random bytes below this map evenly onto the allowed characters (the rest are dropped).
_EVEN_BELOW = 256 - 256 % len(CSRF_ALLOWED_CHARS)


def mask_secret(secret: str) -> str:
    """Mask a CSRF secret exactly as Django's `_mask_cipher_secret` does, only faster.

    Django draws the 32 characters of the mask one `secrets.choice` (one system call) at a
    time; this draws them from one `secrets.token_bytes` call, just as uniformly.
    """
    chars, size = CSRF_ALLOWED_CHARS, len(CSRF_ALLOWED_CHARS)
    mask: list[str] = []
    while len(mask) < CSRF_SECRET_LENGTH:
        mask.extend(chars[byte % size] for byte in secrets.token_bytes(48) if byte < _EVEN_BELOW)
    del mask[CSRF_SECRET_LENGTH:]
    cipher = "".join(
        chars[(_INDEX[x] + _INDEX[y]) % size] for x, y in zip(secret, mask, strict=True)
    )
    return "".join(mask) + cipher


def new_secret() -> str:
    """Make a new CSRF secret, as Django's middleware does."""
    return get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)


@dataclass(frozen=True)
class TrustedOrigins:
    """CSRF_TRUSTED_ORIGINS, read as Django reads them (`https://*.example.org`: subdomains)."""

    exact: frozenset[str] = frozenset()
    subdomains: tuple[tuple[str, str], ...] = ()  # (scheme, ".example.org")
    hosts: tuple[str, ...] = ()  # every entry's host, wildcards as `.example.org`

    @classmethod
    def parse(cls, origins: Iterable[str]) -> TrustedOrigins:
        """Split the configured origins into exact ones and subdomain patterns."""
        origins = tuple(origins)
        parsed = [(origin, urlsplit(origin)) for origin in origins]
        return cls(
            exact=frozenset(origin for origin in origins if "*" not in origin),
            subdomains=tuple(
                (split.scheme, split.netloc.lstrip("*"))
                for origin, split in parsed
                if "*" in origin
            ),
            hosts=tuple(split.netloc.lstrip("*") for _, split in parsed),
        )

    def trust_origin(self, origin: str) -> bool:
        """Tell whether an `Origin` header names a trusted origin."""
        if origin in self.exact:
            return True
        try:
            split = urlsplit(origin)
        except ValueError:
            return False
        return any(
            scheme == split.scheme and is_same_domain(split.netloc, pattern)
            for scheme, pattern in self.subdomains
        )

    def trust_referer_host(self, netloc: str) -> bool:
        """Tell whether a `Referer` host is one of the trusted origins' (any scheme)."""
        return any(is_same_domain(netloc, host) for host in self.hosts)


@dataclass(frozen=True, kw_only=True)
class CsrfConfig:
    """Django's CSRF cookie settings, read once."""

    cookie_name: str = "csrftoken"
    header_name: str = "x-csrftoken"
    cookie_age: int | None = 31449600
    cookie_path: str = "/"
    cookie_domain: str | None = None
    cookie_secure: bool = False
    cookie_httponly: bool = False
    cookie_samesite: str | None = "lax"
    trusted: TrustedOrigins = TrustedOrigins()

    @classmethod
    def from_settings(cls) -> CsrfConfig:
        """Read Django's CSRF settings."""
        header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-").lower()
        return cls(
            cookie_name=settings.CSRF_COOKIE_NAME,
            header_name=header,
            cookie_age=settings.CSRF_COOKIE_AGE,
            cookie_path=settings.CSRF_COOKIE_PATH,
            cookie_domain=settings.CSRF_COOKIE_DOMAIN,
            cookie_secure=settings.CSRF_COOKIE_SECURE,
            cookie_httponly=settings.CSRF_COOKIE_HTTPONLY,
            cookie_samesite=samesite(settings.CSRF_COOKIE_SAMESITE),
            trusted=TrustedOrigins.parse(settings.CSRF_TRUSTED_ORIGINS),
        )


@dataclass(kw_only=True)
class CsrfState:
    """The CSRF secret of one request; the cookie is sent only when a page uses the token."""

    config: CsrfConfig
    cookie_secret: str | None
    cookie_problem: str | None = None  # why the cookie sent could not be used
    _secret: str | None = field(default=None, repr=False)
    _token: str | None = field(default=None, repr=False)

    @classmethod
    def from_cookies(cls, config: CsrfConfig, cookies: dict[str, str]) -> CsrfState:
        """Take the secret from the cookie; a malformed one is replaced at once, as in Django."""
        secret = cookies.get(config.cookie_name)
        if secret is None:
            return cls(config=config, cookie_secret=None)
        try:
            check_token_format(secret)
        except InvalidTokenFormat as error:
            problem = f"the CSRF cookie {error.reason}"
            fresh = new_secret()
            return cls(config=config, cookie_secret=None, cookie_problem=problem, _secret=fresh)
        if len(secret) == CSRF_TOKEN_LENGTH:  # a masked secret, as Django before 4.0 kept it
            secret = unmask_cipher_token(secret)
        return cls(config=config, cookie_secret=secret)

    @property
    def is_new(self) -> bool:
        """Tell whether this request had no usable CSRF cookie."""
        return self.cookie_secret is None

    @property
    def secret(self) -> str:
        """Give the secret, making a new one (and later its cookie) when there was none."""
        if self.cookie_secret is not None:
            return self.cookie_secret
        if self._secret is None:
            self._secret = new_secret()
        return self._secret

    @property
    def token(self) -> str:
        """Give this request's masked token (the value forms and scripts send back)."""
        if self._token is None:
            self._token = mask_secret(self.secret)
        return self._token

    def check(self, token: str | None, request: UnsafeRequest) -> str | None:
        """Check an unsafe request as CsrfViewMiddleware does; say why it is refused, or None.

        `token` is the form field's value when the form (of a POST) has one, else the header's
        (None when the request sends neither).
        """
        reason = self._check_source(request)
        if reason is not None:
            return reason
        if self.cookie_problem is not None:
            return self.cookie_problem
        if self.is_new:
            return "the CSRF cookie is missing"
        if token is None:
            return f"the CSRF token is missing (form field {CSRF_FORM_FIELD})"
        try:
            check_token_format(token)
        except InvalidTokenFormat as error:
            return f"the CSRF token {error.reason}"
        if not does_token_match(token, self.secret):
            return "the CSRF token is incorrect"
        return None

    def _check_source(self, request: UnsafeRequest) -> str | None:
        """Check where the request comes from: its Origin, else on HTTPS its Referer."""
        trusted = self.config.trusted
        if request.origin is not None:
            if request.origin == request.own_origin or trusted.trust_origin(request.origin):
                return None
            return f"the request comes from another site ({request.origin})"
        if not request.secure:
            return None
        if request.referer is None:
            return "an HTTPS request without Origin must send a Referer"
        try:
            referer = urlsplit(request.referer)
        except ValueError:
            return "the Referer is malformed"
        if not referer.scheme or not referer.netloc:
            return "the Referer is malformed"
        if referer.scheme != "https":
            return "the Referer of an HTTPS request is not secure"
        if trusted.trust_referer_host(referer.netloc):
            return None
        good = self.config.cookie_domain
        if good is None:
            good = request.host
        elif request.port not in ("443", "80"):
            good = f"{good}:{request.port}"
        if not is_same_domain(referer.netloc, good):
            return f"the request comes from another site ({request.referer})"
        return None

    def set_cookie(self, response: Response) -> None:
        """Send the cookie when this request made a new secret or used the token.

        As Django's CsrfViewMiddleware does: every page that hands out the token also
        re-sends the cookie (and varies on cookies), so scripts reading it from the latest
        response keep working.
        """
        if self._secret is None and self._token is None:
            return
        config = self.config
        response.set_cookie(
            config.cookie_name,
            self.secret,
            max_age=config.cookie_age,
            expires=config.cookie_age,  # Django sends both
            path=config.cookie_path,
            domain=config.cookie_domain,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,  # type: ignore[arg-type]
        )
        vary_on_cookie(response)


@dataclass(frozen=True, kw_only=True)
class UnsafeRequest:
    """What the CSRF check reads of an unsafe request besides its token."""

    origin: str | None  # the `Origin` header
    referer: str | None  # the `Referer` header
    host: str  # the `Host` header, with its port
    port: str  # the port the request came in on
    secure: bool  # whether the browser used HTTPS

    @property
    def own_origin(self) -> str:
        """Give the origin of this site, as the browser sees it."""
        return f"{'https' if self.secure else 'http'}://{self.host}"

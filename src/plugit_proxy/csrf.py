"""CSRF for the page pipeline, with Django's semantics and Django's own token functions.

The secret lives in the `csrftoken` cookie; pages get a masked token; an unsafe request must
send a token (form field `csrfmiddlewaretoken` or header `X-CSRFToken`) that unmasks to the
cookie's secret, and, when it says where it comes from (`Origin`), come from this site.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.middleware.csrf import (  # type: ignore[attr-defined]
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    InvalidTokenFormat,
    _check_token_format,
    _does_token_match,
    _get_new_csrf_string,
)
from starlette.responses import Response

from plugit.protocol import CSRF_FORM_FIELD

__all__ = ["SAFE_METHODS", "CsrfConfig", "CsrfState", "mask_secret"]

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
    cookie_samesite: str = "lax"
    trusted_origins: frozenset[str] = frozenset()

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
            cookie_samesite=(settings.CSRF_COOKIE_SAMESITE or "lax").lower(),
            trusted_origins=frozenset(settings.CSRF_TRUSTED_ORIGINS),
        )


@dataclass(kw_only=True)
class CsrfState:
    """The CSRF secret of one request; the cookie is sent only when a page uses the token."""

    config: CsrfConfig
    cookie_secret: str | None
    _secret: str | None = field(default=None, repr=False)
    _token: str | None = field(default=None, repr=False)

    @classmethod
    def from_cookies(cls, config: CsrfConfig, cookies: dict[str, str]) -> CsrfState:
        """Take the secret from the cookie, unless it is missing or malformed."""
        secret = cookies.get(config.cookie_name, "")
        try:
            _check_token_format(secret)
        except InvalidTokenFormat:
            return cls(config=config, cookie_secret=None)
        if len(secret) != CSRF_SECRET_LENGTH:
            return cls(config=config, cookie_secret=None)
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
            self._secret = _get_new_csrf_string()
        return self._secret

    @property
    def token(self) -> str:
        """Give this request's masked token (the value forms and scripts send back)."""
        if self._token is None:
            self._token = mask_secret(self.secret)
        return self._token

    def check(self, sent_token: str, origin: str | None, own_origin: str) -> str | None:
        """Check an unsafe request; return why it is refused, or None when it passes."""
        if (
            origin is not None
            and origin != own_origin
            and origin not in self.config.trusted_origins
        ):
            return f"the request comes from another site ({origin})"
        if self.is_new:
            return "the CSRF cookie is missing"
        if not sent_token:
            return f"the CSRF token is missing (form field {CSRF_FORM_FIELD})"
        try:
            _check_token_format(sent_token)
        except InvalidTokenFormat as error:
            return f"the CSRF token is malformed: {error.reason}"
        if not _does_token_match(sent_token, self.secret):
            return "the CSRF token is incorrect"
        return None

    def set_cookie(self, response: Response) -> None:
        """Send the cookie when this request made a new secret or used the token.

        As Django's CsrfViewMiddleware does: every page that hands out the token also
        re-sends the cookie, so scripts reading it from the latest response keep working.
        """
        if self._secret is None and self._token is None:
            return
        config = self.config
        response.set_cookie(
            config.cookie_name,
            self.secret,
            max_age=config.cookie_age,
            path=config.cookie_path,
            domain=config.cookie_domain,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,  # type: ignore[arg-type]
        )

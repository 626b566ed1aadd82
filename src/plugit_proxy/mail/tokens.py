"""Reply tokens: a signed reference to a reply route, in the local part of the Reply-To.

A token is the route's id in base 36 followed by 24 base-32 characters of
HMAC-SHA256(platform secret, domain-separated, over the id and the project key), truncated to
120 bits. Everything is lower case (mail systems fold the case of local parts), and
`notifications+<token>` stays far below the 64 octets a local part may hold. The `response_id`
itself never leaves the database, and nothing is encrypted.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from plugit.exceptions import ConfigurationError

__all__ = ["ParsedToken", "find_token", "parse_token", "reply_address", "sign", "verify"]

KEY_SALT = "plugit_proxy.mail.reply-token.v1"
MAC_BYTES = 15  # 120 bits, 24 base-32 characters with no padding
MAC_LENGTH = 24
MAX_LOCAL_PART = 64
TOKEN_RE = re.compile(rf"^(?P<ref>[0-9a-z]{{1,13}})(?P<mac>[a-z2-7]{{{MAC_LENGTH}}})$")
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class ParsedToken:
    """A token split into the route it names and the MAC that vouches for it."""

    route_id: int
    mac: str


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = DIGITS[digit] + digits
        if not number:
            return digits


def _mac(route_id: int, project_key: str, secret: str | bytes) -> str:
    digest = salted_hmac(
        KEY_SALT, f"{route_id}|{project_key}", secret=secret, algorithm="sha256"
    ).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode("ascii").lower()


def sign(route_id: int, project_key: str) -> str:
    """Make the token of route `route_id`, bound to `project_key`."""
    if route_id < 1:
        raise ValueError(f"a reply route id is positive, not {route_id}")
    return _base36(route_id) + _mac(route_id, project_key, settings.SECRET_KEY)


def parse_token(token: str) -> ParsedToken | None:
    """Split a token (any case); None when it is not shaped like one."""
    match = TOKEN_RE.match(token.strip().lower())
    if match is None:
        return None
    return ParsedToken(int(match["ref"], 36), match["mac"])


def verify(parsed: ParsedToken, project_key: str) -> bool:
    """Tell whether the MAC vouches for this route and project (old secrets still count)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        constant_time_compare(parsed.mac, _mac(parsed.route_id, project_key, secret))
        for secret in secrets
    )


def split_address(address: str) -> tuple[str, str]:
    """Split `local@domain`, refusing anything else."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ConfigurationError(
            f"PLUGIT_MAIL_SENDER must be an address like notifications@example.org, "
            f"not {address!r}."
        )
    return local, domain


def reply_address(sender: str, token: str) -> str:
    """Put `token` in the local part of the platform's address: `local+token@domain`."""
    local, domain = split_address(sender)
    tagged = f"{local}+{token}"
    if len(tagged.encode()) > MAX_LOCAL_PART:
        raise ConfigurationError(
            f"The local part of PLUGIT_MAIL_SENDER ({local!r}) is too long to carry a reply "
            f"token within {MAX_LOCAL_PART} octets; use a shorter one."
        )
    return f"{tagged}@{domain}"


def find_token(addresses: Iterable[str], sender: str) -> str | None:
    """Find the token in the first of `addresses` that is `local+token@domain` of `sender`."""
    local, domain = split_address(sender)
    prefix = f"{local}+".lower()
    for address in addresses:
        their_local, at, their_domain = address.strip().strip("<>").rpartition("@")
        if not at or their_domain.lower() != domain.lower():
            continue
        if their_local.lower().startswith(prefix) and len(their_local) > len(prefix):
            return their_local[len(prefix) :].lower()
    return None

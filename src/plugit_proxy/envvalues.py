"""One parser per type of `PLUGIT_*` value, each refusing a bad value by name.

Every parser takes the variable's name and its raw text and returns the typed value, or raises
a `ConfigurationError` that names the variable, repeats the value and says what is accepted:

    PLUGIT_ORGA_MODE='treu' is not a boolean: use 1/0, true/false, yes/no, on/off

`Environment` reads a variable (or its original `PIAPI_*` alias) and applies a parser; values
given by the command line win over the environment, and a blank variable is unset.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from plugit.exceptions import ConfigurationError

__all__ = [
    "Environment",
    "hide_password",
    "parse_bool",
    "parse_bytes",
    "parse_choice",
    "parse_database_url",
    "parse_int",
    "parse_list",
    "parse_networks",
    "parse_port",
    "parse_seconds",
    "parse_url",
]

T = TypeVar("T")

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
BOOL_FORMS = "1/0, true/false, yes/no, on/off"
BYTE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
BYTES_FORM = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")
HIGHEST_PORT = 65535
# The databases the proxy ships a driver for (dj-database-url's names for them).
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
SQLITE_SCHEMES = ("sqlite",)


def _refuse(name: str, value: str, what: str, forms: str) -> ConfigurationError:
    return ConfigurationError(f"{name}={value!r} is not {what}: use {forms}")


def parse_bool(name: str, value: str) -> bool:
    """Read 1/0, true/false, yes/no or on/off (any case)."""
    word = value.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise _refuse(name, value, "a boolean", BOOL_FORMS)


def parse_int(name: str, value: str, *, minimum: int | None = 0) -> int:
    """Read a whole number, at least `minimum` (None: any)."""
    try:
        number = int(value.strip())
    except ValueError:
        raise _refuse(name, value, "a whole number", "digits, e.g. 20") from None
    if minimum is not None and number < minimum:
        raise _refuse(name, value, f"{minimum} or more", f"a whole number from {minimum}")
    return number


def parse_port(name: str, value: str) -> int:
    """Read a TCP port, 0 to 65535 (0: any free port)."""
    try:
        number = int(value.strip())
    except ValueError:
        raise _refuse(name, value, "a port number", "digits, e.g. 8000") from None
    if not 0 <= number <= HIGHEST_PORT:
        raise _refuse(name, value, "a port number", f"a number from 1 to {HIGHEST_PORT}")
    return number


def parse_seconds(name: str, value: str, *, positive: bool = True) -> float:
    """Read a duration in seconds (decimals allowed), above 0 unless `positive` is False."""
    try:
        number = float(value.strip())
    except ValueError:
        raise _refuse(name, value, "a number of seconds", "e.g. 30 or 0.5") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _refuse(name, value, "a number of seconds", "e.g. 30 or 0.5")
    if number < 0 or (positive and number == 0):
        floor = "above 0" if positive else "0 or more"
        raise _refuse(name, value, f"a duration {floor}", f"a number of seconds {floor}")
    return number


def parse_bytes(name: str, value: str) -> int:
    """Read a size: a number of bytes, or with a unit (k/KB, KiB, M/MB, MiB, G/GB, GiB)."""
    match = BYTES_FORM.match(value)
    unit = BYTE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise _refuse(name, value, "a size", "a number of bytes, or e.g. 10MiB, 500KB, 1G")
    size = int(match.group(1)) * unit
    if size <= 0:
        raise _refuse(name, value, "a size above 0", "a number of bytes, or e.g. 10MiB")
    return size


def parse_list(name: str, value: str) -> tuple[str, ...]:
    """Read a comma-separated list (blanks around items dropped, empty items skipped)."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def parse_networks(name: str, value: str) -> tuple[str, ...]:
    """Read a comma-separated list of networks (CIDR, IPv4 or IPv6; a lone address is a /32).

    `none` is the empty list.
    """
    if value.strip().lower() == "none":
        return ()
    networks = []
    for item in parse_list(name, value):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise _refuse(name, item, "a network", "e.g. 10.0.0.0/8, 127.0.0.1, ::1/128") from None
    return tuple(networks)


def parse_url(name: str, value: str, *, schemes: Iterable[str] = ("http", "https")) -> str:
    """Read an absolute URL with one of `schemes` and a host."""
    allowed = tuple(schemes)
    parts = urlsplit(value.strip())
    if parts.scheme not in allowed or not parts.netloc:
        forms = " or ".join(f"{scheme}://host..." for scheme in allowed)
        raise _refuse(name, value, "a URL", forms)
    return value.strip()


def parse_database_url(name: str, value: str) -> str:
    """Read a database URL: PostgreSQL (a host or a database name) or SQLite (a file)."""
    text = value.strip()
    parts = urlsplit(text)
    forms = "postgresql://user@host:5432/name or sqlite:////absolute/path.sqlite3"
    shown = hide_password(value)
    if parts.scheme in SQLITE_SCHEMES:
        if not parts.path.strip("/"):
            raise _refuse(name, shown, "a database URL (no file)", forms)
    elif parts.scheme not in POSTGRES_SCHEMES or not (parts.netloc or parts.path.strip("/")):
        raise _refuse(name, shown, "a database URL", forms)
    return text


def hide_password(url: str) -> str:
    """`url` with the password of its user part, if any, shown as `***` (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def parse_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """Read one of `choices` (any case)."""
    allowed = tuple(choices)
    word = value.strip().lower()
    if word not in allowed:
        raise _refuse(name, value, "a known choice", "one of " + ", ".join(allowed))
    return word


class Environment:
    """The variables the configuration is built from, with the command line's values first.

    `overrides` maps variable names to values already typed (from flags); `environ` holds raw
    text. A variable set to blank counts as unset, except through `text`, where it is a value.
    """

    def __init__(self, environ: Mapping[str, str], overrides: Mapping[str, Any]) -> None:
        self.variables = environ
        self.overrides = overrides

    def _raw(self, name: str, aliases: tuple[str, ...]) -> tuple[str, str] | None:
        for key in (name, *aliases):
            value = self.variables.get(key)
            if value is not None:
                return key, value
        return None

    def text(self, name: str, default: str = "", *aliases: str) -> str:
        """A string, as set (blank included); `default` when unset."""
        if name in self.overrides and self.overrides[name] is not None:
            return str(self.overrides[name])
        found = self._raw(name, aliases)
        return default if found is None else found[1]

    def get(self, name: str, parse: Callable[[str, str], T], default: T, *aliases: str) -> T:
        """A value read by `parse` (flags first, then the first variable set), else `default`."""
        override = self.overrides.get(name)
        if override is not None:
            typed: T = parse(name, override) if isinstance(override, str) else override
            return typed
        found = self._raw(name, aliases)
        if found is None or not found[1].strip():
            return default
        return parse(*found)

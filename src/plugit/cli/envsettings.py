"""The `PLUGIT_*` variables the SDK's commands read, each refused by name when malformed.

Read when a command runs, never while its parser is built: a bad `PLUGIT_PORT` is then one
line from the command that uses it, and no concern of `plugit new` or `plugit --help`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from plugit.exceptions import ConfigurationError

__all__ = ["setting_int", "setting_text"]


def setting_text(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable `name` as set (blanks trimmed), else `default` when unset or blank."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or default


def setting_int(
    name: str, default: int, *, minimum: int = 0, environ: Mapping[str, str] | None = None
) -> int:
    """The variable `name` as a whole number of at least `minimum`, else `default` when unset."""
    raw = (os.environ if environ is None else environ).get(name, "")
    if not raw.strip():
        return default
    try:
        number = int(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a whole number: use digits, e.g. {default}"
        ) from None
    if number < minimum:
        raise ConfigurationError(f"{name}={raw!r} is below {minimum}: use {minimum} or more")
    return number

"""The meta object's rules (docs/protocol.md §1): the type of each key, and its caching headers.

The key types are read from `plugit.protocol.Meta`, where the meta object is declared once.
The proxy keeps a meta as long as `meta_max_age` says; `plugit check` holds a service's meta
answers to the same rules.
"""

from __future__ import annotations

import re
import time
import types
import typing
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final

from plugit.protocol import PROXY_META_FALLBACK_MAX_AGE, Meta

__all__ = [
    "MAX_META_AGE",
    "META_KEY_TYPES",
    "cache_control_max_age",
    "json_type_name",
    "meta_key_problems",
    "meta_max_age",
    "read_expire",
]

# The longest a proxy keeps a meta, whatever its Expire date says.
MAX_META_AGE: Final = 24 * 3600

# Each key of the meta object and the type its JSON value must have.
META_KEY_TYPES: Final[Mapping[str, Any]] = typing.get_type_hints(Meta)

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)\s*(?:,|$)", re.IGNORECASE)


def _conforms(value: object, hint: Any) -> bool:
    """Tell whether a JSON value has the type `hint` (bool is never taken for an int)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_conforms(entry, item) for entry in value)
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def json_type_name(hint: Any) -> str:
    """Name a type the way JSON spells it: `bool`, `int`, `string`, `list of strings`, ..."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(json_type_name(option) for option in typing.get_args(hint))
    if origin is list:
        return f"list of {json_type_name(typing.get_args(hint)[0])}s"
    names = {bool: "bool", int: "int", float: "number", str: "string", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def meta_key_problems(meta: Mapping[str, Any]) -> dict[str, str]:
    """Map each key of a meta object that breaks its declared type to the type it needs.

    Keys the protocol does not know are left to the caller (a proxy ignores them).
    """
    return {
        key: json_type_name(META_KEY_TYPES[key])
        for key, value in meta.items()
        if key in META_KEY_TYPES and not _conforms(value, META_KEY_TYPES[key])
    }


def read_expire(expire: str | None) -> float | None:
    """The `Expire` header's date as a timestamp, or None when it is missing or unreadable."""
    if not expire:
        return None
    try:
        return parsedate_to_datetime(expire).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def meta_max_age(expire: str | None, now: float | None = None) -> int:
    """Seconds a proxy keeps a meta: until `Expire`, 0 once it has passed, at most a day.

    Without a readable `Expire` header, a proxy keeps the meta 5 minutes.
    """
    when = read_expire(expire)
    if when is None:
        return PROXY_META_FALLBACK_MAX_AGE
    elapsed_now = time.time() if now is None else now
    return max(0, min(int(when - elapsed_now), MAX_META_AGE))


def cache_control_max_age(value: str | None) -> int | None:
    """The `max-age` of a `Cache-Control` value, or None when it has none."""
    found = _MAX_AGE.search(value or "")
    return int(found[1]) if found else None

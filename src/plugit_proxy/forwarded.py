"""The browser's address behind trusted reverse proxies, from `X-Forwarded-For`.

Each proxy appends the address it received the request from, so only the last entries were
written by proxies we trust; everything left of them was written by the client and proves
nothing. With `trusted` proxies in front, the browser's address is the entry `trusted` places
from the right (PLUGIT_TRUSTED_PROXIES, 1 by default: the one our own proxy appended).
"""

from __future__ import annotations

import ipaddress

__all__ = ["forwarded_client"]


def forwarded_client(header: str, trusted: int) -> str | None:
    """Give the address `trusted` hops from the right of `header`, or None if there is none."""
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not hops or trusted < 1:
        return None
    # Fewer entries than trusted proxies: all were written by them; the leftmost is the farthest.
    candidate = hops[-trusted] if len(hops) >= trusted else hops[0]
    try:
        return str(ipaddress.ip_address(candidate.removeprefix("[").removesuffix("]")))
    except ValueError:
        return None  # "unknown", a name, a port: the socket peer stays

"""The network guard: only proxies inside PI_ALLOWED_NETWORKS may call a service."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers

from plugit.settings import Network


def caller_address(peer: str | None, headers: Headers, *, use_proxy_ip: bool) -> str:
    """The address to check: the socket peer, or the last X-Forwarded-For hop when trusted."""
    if use_proxy_ip:
        forwarded = headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer or ""


def address_allowed(address: str, networks: Iterable[Network]) -> bool:
    """True when `address` (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of `networks`."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = (ip, ip.ipv4_mapped)
    else:
        candidates = (ip,)
    return any(candidate in network for candidate in candidates for network in networks)

"""Build the URLs of service calls from configuration and a checked route (never a raw URL)."""

from __future__ import annotations

from urllib.parse import quote

from .state import not_found

__all__ = ["checked_route", "service_url"]

_SAFE = "/:@!$&'()*+,;=-._~"


def checked_route(route: str) -> str:
    """Refuse dot segments: `/plugIt/../action/x` must never reach another service path."""
    segments = route.split("/")
    if any(segment in {".", ".."} for segment in segments) or "\\" in route:
        raise not_found()
    return route


def service_url(base: str, endpoint: str, route: str = "") -> str:
    """Give the URL of `endpoint` + `route` (`meta` + `/show/3`) at the service at `base`."""
    return base + endpoint + quote(route, safe=_SAFE)

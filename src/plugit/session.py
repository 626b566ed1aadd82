"""The proxy-held session: values a service stored with SetSession, sent back on each call."""

from __future__ import annotations

from typing import Any

from plugit.protocol import HEADER_SESSION_PREFIX

__all__ = ["get_session_from_request"]

_PREFIX = HEADER_SESSION_PREFIX.lower()


def get_session_from_request(request: Any) -> dict[str, str]:
    """The session values the proxy sent with this call, by the keys the service set."""
    values = {
        name[len(_PREFIX) :]: value
        for name, value in request.headers.items()
        if name.lower().startswith(_PREFIX)
    }
    # Header names arrive lower-cased; the proxy's cookies keep the keys as they were set.
    cookies = {name.lower(): name for name in getattr(request, "cookies", {})}
    return {cookies.get(key, key): value for key, value in values.items()}

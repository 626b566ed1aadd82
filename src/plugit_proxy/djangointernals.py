"""The private Django helpers the page pipeline needs, in one place.

Django has no public API to check a CSRF token's format, to unmask a token or to compare it
with the secret: its middleware keeps these as private functions. Nor to give the cache
session engine its cache object (it looks one up per asyncio context, `_cache`). The pipeline
checks CSRF outside that middleware, so it borrows them here and nowhere else;
tests/proxy/test_django_parity.py fails with a clear message when a Django upgrade changes
their names, signatures or results.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache
from django.middleware import csrf as _csrf

__all__ = [
    "check_token_format",
    "does_token_match",
    "session_cache",
    "set_session_cache",
    "unmask_cipher_token",
]


def check_token_format(token: str) -> None:
    """Raise InvalidTokenFormat unless `token` is a secret or a masked secret."""
    _csrf._check_token_format(token)  # type: ignore[attr-defined]


def does_token_match(token: str, secret: str) -> bool:
    """Tell whether a well-formed token (masked or not) carries `secret`."""
    return bool(_csrf._does_token_match(token, secret))  # type: ignore[attr-defined]


def unmask_cipher_token(token: str) -> str:
    """Give the secret a masked token carries."""
    return str(_csrf._unmask_cipher_token(token))  # type: ignore[attr-defined]


def set_session_cache(store: Any, cache: BaseCache) -> None:
    """Make a cache-engine session store use `cache`."""
    store._cache = cache


def session_cache(store: Any) -> BaseCache:
    """Give the cache a cache-engine session store uses."""
    cache: BaseCache = store._cache
    return cache

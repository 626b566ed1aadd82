"""A hosted project's API key: `<mount>ebuio_api/<key>/...` or `Authorization: Bearer <key>`.

The key is checked in the ASGI application, before Django sees the request: a wrong or
missing key is a 403 JSON error, and the key of one project never opens another's API (each
project's key is compared with that project's stored hash only, in constant time). A client
address that failed `limit` checks is answered 429, whatever key it sends, until it has failed
none for `window` seconds (`KeyGuesses`, counted in the shared cache).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.cache.backends.base import BaseCache
from starlette.types import Scope, Send

from ..config import Project
from ..platform.keys import key_matches
from .calls import call_names

__all__ = ["API_CALLS", "KeyGuesses", "authorised", "refuse", "split_key"]

# The first segments of the API's own paths: anything else in that place is a key.
API_CALLS = call_names()


def split_key(rest: str, authorization: str) -> tuple[str, str]:
    """Split `<key>/<call>` (or `<call>` with a Bearer header) into the key and the call."""
    first, _, after = rest.partition("/")
    if first and first not in API_CALLS:
        return first, after
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), rest
    return "", rest


def authorised(project: Project, key: str) -> bool:
    """Tell whether `key` opens `project`'s API (a project without a hash needs none)."""
    if project.api_key_hash is None:
        return True
    return bool(key) and key_matches(key, project.api_key_hash)


@dataclass(frozen=True, kw_only=True)
class KeyGuesses:
    """Failed API-key checks per client address, counted in the cache (`limit` 0: no limit)."""

    cache: BaseCache
    limit: int
    window: int

    @classmethod
    def from_settings(cls, cache: BaseCache) -> KeyGuesses:
        """Read PLUGIT_API_KEY_FAILURES and PLUGIT_API_KEY_WINDOW."""
        from django.conf import settings

        limit, window = settings.PLUGIT_API_KEY_FAILURES, settings.PLUGIT_API_KEY_WINDOW
        return cls(cache=cache, limit=limit, window=window)

    async def blocked(self, scope: Scope) -> bool:
        """Tell whether the client has used up its failed checks."""
        if self.limit <= 0:
            return False
        return int(await self.cache.aget(self._key(scope), 0)) >= self.limit

    async def failed(self, scope: Scope) -> None:
        """Count a failed check; the count lasts `window` seconds after the last one."""
        if self.limit > 0:
            key = self._key(scope)
            count = int(await self.cache.aget(key, 0))
            await self.cache.aset(key, count + 1, timeout=self.window)

    @staticmethod
    def _key(scope: Scope) -> str:
        client: Any = scope.get("client") or ("unknown", 0)
        return f"plugit:api-key-failures:{client[0]}"


async def refuse(send: Send, *, retry_after: int | None = None) -> None:
    """Answer 403 with a JSON error; 429 when `retry_after` (seconds) is given."""
    status, error = 403, "invalid or missing API key"
    headers = [(b"www-authenticate", b"Bearer")]
    if retry_after is not None:
        status, error = 429, "too many invalid API keys from this address: try again later"
        headers = [(b"retry-after", str(retry_after).encode())]
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

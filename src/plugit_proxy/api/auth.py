"""A hosted project's API key: `<mount>ebuio_api/<key>/...` or `Authorization: Bearer <key>`.

The key is checked in the ASGI application, before Django sees the request: a wrong or
missing key is a 403 JSON error, and the key of one project never opens another's API (each
project's key is compared with that project's stored hash only, in constant time).
"""

from __future__ import annotations

import json

from starlette.types import Send

from ..config import Project
from ..platform.keys import key_matches
from .calls import call_names

__all__ = ["API_CALLS", "authorised", "refuse", "split_key"]

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


async def refuse(send: Send) -> None:
    """Answer 403 with a JSON error."""
    body = json.dumps({"error": "invalid or missing API key"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

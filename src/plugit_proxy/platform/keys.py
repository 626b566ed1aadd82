"""Project API keys: generated at random, stored only as a keyed hash.

The hash is keyed with the platform secret. As Django does for its own signatures, a key
stored under a secret now listed in SECRET_KEY_FALLBACKS still opens its API: rotating the
secret does not lock every project out at once, and removing the old secret from the
fallbacks ends those keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

__all__ = ["KEY_BYTES", "hash_api_key", "key_matches", "new_api_key"]

KEY_BYTES = 32


def new_api_key() -> str:
    """A fresh API key (43 URL-safe characters, 256 random bits)."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_api_key(key: str, secret: str | bytes | None = None) -> str:
    """The key's HMAC-SHA256 under `secret` (default: the platform secret), in hex."""
    secret = settings.SECRET_KEY if secret is None else secret
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"plugit-api-key:" + key.encode(), hashlib.sha256).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """True when `key` is the one whose hash is stored, under the secret or a fallback.

    Each comparison takes constant time; the fallbacks are tried only when the current
    secret does not match.
    """
    if not stored_hash:
        return False
    if hmac.compare_digest(hash_api_key(key), stored_hash):
        return True
    return any(
        hmac.compare_digest(hash_api_key(key, old), stored_hash)
        for old in settings.SECRET_KEY_FALLBACKS
    )

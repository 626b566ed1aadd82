"""Project API keys: generated at random, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

KEY_BYTES = 32


def new_api_key() -> str:
    """A fresh API key (43 URL-safe characters, 256 random bits)."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_api_key(key: str) -> str:
    """The key's HMAC-SHA256 under the platform secret (hex), what the database keeps."""
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, b"plugit-api-key:" + key.encode(), hashlib.sha256).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """True when `key` is the one whose hash is stored (compared in constant time)."""
    return bool(stored_hash) and hmac.compare_digest(hash_api_key(key), stored_hash)

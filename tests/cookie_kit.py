"""Read a cookie value as an attacker would: as sent, and each part base64 (zlib) decoded."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import zlib


def readable(cookie_value: str) -> str:
    """Every readable rendering of a cookie value: as sent, and base64 (zlib) decoded."""
    seen = [cookie_value]
    for part in re.split(r"[:.]", cookie_value):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        seen.append(raw.decode("latin-1"))
        with contextlib.suppress(zlib.error):
            seen.append(zlib.decompress(raw).decode("latin-1"))
    return "\n".join(seen)

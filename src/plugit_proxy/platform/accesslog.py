"""Keep API keys out of the access log: `ebuio_api/<key>/...` is logged as `ebuio_api/***/...`.

Services may put their project's key in the path (the original PlugIt's way); uvicorn logs
the path it received, before the ASGI application takes the key out. Keys in a query string
(`?key=`, `?api_key=`, `?token=`) are masked too.
"""

from __future__ import annotations

import logging
import re

from ..api.auth import API_CALLS

__all__ = ["ACCESS_LOGGER", "RedactKeys", "install", "redact"]

ACCESS_LOGGER = "uvicorn.access"
MASK = "***"
KEY_SEGMENT = re.compile(r"(/ebuio_api/)([^/?#]+)")
KEY_PARAMETER = re.compile(r"([?&](?:api_?key|key|token)=)[^&#]*", re.IGNORECASE)


def redact(path: str) -> str:
    """Mask the API key in a logged path and query string."""
    path = KEY_SEGMENT.sub(
        lambda found: found.group(0) if found.group(2) in API_CALLS else found.group(1) + MASK,
        path,
    )
    return KEY_PARAMETER.sub(lambda found: found.group(1) + MASK, path)


class RedactKeys(logging.Filter):
    """Mask API keys in the arguments of uvicorn's access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger, once."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactKeys) for f in logger.filters):
        logger.addFilter(RedactKeys())

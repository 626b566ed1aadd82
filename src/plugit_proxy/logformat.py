"""The proxy's log lines: text (as always, with the request's id) or JSON lines.

PLUGIT_LOG_FORMAT=json writes one JSON object per line: `time` (UTC, ISO 8601), `level`,
`logger`, `message`, `request_id` (empty outside a request), then what is known of the request
(`project`, `service`, `route`) and, on access lines, `method`, `path`, `client`, `status` and
`duration_ms`; `exception` holds a traceback. Text lines read
`<time> <LEVEL> <logger> [<request id>]: <message>`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["FIELDS", "TEXT_FORMAT", "JsonLines", "django_logging", "handler_settings"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"
FIELDS = (
    "project",
    "service",
    "route",
    "method",
    "path",
    "client",
    "status",
    "duration_ms",
)
FILTER = {"()": "plugit_proxy.requestcontext.RequestContextFilter"}


class JsonLines(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        values = record.__dict__
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": values.get("request_id", ""),
        }
        for name in FIELDS:
            value = values.get(name)
            if value not in (None, ""):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def handler_settings(log_format: str, text: str = TEXT_FORMAT) -> dict[str, Any]:
    """A logging formatter entry (dictConfig) for `log_format`: `text` in the form `text`."""
    if log_format == "json":
        return {"()": "plugit_proxy.logformat.JsonLines"}
    return {"format": text}


def django_logging(level: str, log_format: str) -> dict[str, Any]:
    """The LOGGING setting: the proxy's loggers on the console, each line with its request."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": FILTER},
        "formatters": {"plain": handler_settings(log_format)},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["request"],
            }
        },
        "loggers": {"plugit_proxy": {"handlers": ["console"], "level": level.upper()}},
    }

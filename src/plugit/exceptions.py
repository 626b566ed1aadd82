"""The one exception tree of PlugIt.

PlugItError
├── ConfigurationError      bad settings, bad decorators, bad routes (raised at start-up)
├── Abort                   an action asks for a pass-through status (404, 403, ...)
└── APIError                the proxy's API could not answer a service
    ├── APIConnectionError  refused, unreachable, or timed out
    └── APIResponseError    answered with an error status or a body that is not JSON
"""

from __future__ import annotations

import inspect
import urllib.error
from typing import NoReturn

from plugit.protocol import PASS_THROUGH_STATUSES


class PlugItError(Exception):
    """Root of every error PlugIt raises on purpose."""


class ConfigurationError(PlugItError):
    """A setting, route or decorator is wrong; the message names the value and the fix."""


class Abort(PlugItError):
    """Stop an action and answer with `status_code` (e.g. 403, 404, 429)."""

    def __init__(self, status_code: int, description: str = "") -> None:
        if not 300 <= status_code <= 599:
            raise ValueError(f"abort() takes an HTTP status from 300 to 599, not {status_code}")
        super().__init__(status_code, description)
        self.status_code = status_code
        self.description = description


class APIError(PlugItError):
    """The proxy's API could not give the answer asked for."""


class APIConnectionError(APIError):
    """The proxy's API could not be reached in time."""


class APIResponseError(APIError):
    """The proxy's API answered with an error status or an unreadable body."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def abort(status_code: int, description: str = "") -> NoReturn:
    """Stop the running action and answer `status_code` to the proxy."""
    raise Abort(status_code, description)


def http_status(error: BaseException) -> int | None:
    """The status an action's exception asks the service to answer, or None (a failure: 500).

    `Abort` gives its own status. Any other exception that carries an HTTP status as an int
    attribute `code` (Werkzeug's `HTTPException`, so `flask.abort(404)`) or `status_code`
    (Starlette's, DRF's) gives it when it is one the proxy passes to the browser (304, 401,
    403, 404, 429) or another error status (400-599, answered as Flask answered it; the
    proxy shows its own error page). Exceptions about an *outgoing* call (urllib's
    `HTTPError`, PlugIt's `APIError`) are failures of the action, whatever their status.
    No Flask or Werkzeug import is needed: the attribute is read as plain data, never
    through a property (which may warn or compute).
    """
    if isinstance(error, Abort):
        return error.status_code
    if isinstance(error, APIError | urllib.error.HTTPError):
        return None
    for name in ("code", "status_code"):
        value = inspect.getattr_static(error, name, None)
        if type(value) is int and (value in PASS_THROUGH_STATUSES or 400 <= value <= 599):
            return value
    return None


def http_description(error: BaseException) -> str:
    """The short text an exception that carries a status gives for the caller ("" if none)."""
    for name in ("description", "detail"):
        value = inspect.getattr_static(error, name, None)
        if isinstance(value, str):
            return value
    return ""

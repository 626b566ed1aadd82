"""The one exception tree of PlugIt.

PlugItError
├── ConfigurationError      bad settings, bad decorators, bad routes (raised at start-up)
├── Abort                   an action asks for a pass-through status (404, 403, ...)
└── APIError                the proxy's API could not answer a service
    ├── APIConnectionError  refused, unreachable, or timed out
    └── APIResponseError    answered with an error status or a body that is not JSON
"""

from __future__ import annotations

from typing import NoReturn


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

"""The one exception tree of PlugIt: every error it raises on purpose is a `PlugItError`.

The SDK (`plugit`):

PlugItError
├── ConfigurationError          bad settings, decorators or routes (raised at start-up)
│   └── UserFieldNotAllowed     a meta asks for a user field the proxy does not give (pagerules)
├── Abort                       an action asks for a pass-through status (404, 403, ...)
│   └── MissingParameter        `request.form["name"]` was not sent: 400 (also a KeyError)
├── APIError                    the proxy's API could not answer a service
│   ├── APIConnectionError      refused, unreachable, or timed out
│   └── APIResponseError        answered with an error status or a body that is not JSON
├── ScaffoldError               `plugit new` cannot write the project (scaffold)
└── ServiceUnreachable          `plugit check` finds nothing at the service's URL (check.calls)

The proxy (`plugit_proxy`) adds, under the same root:

PlugItError
├── ConfigurationError
│   └── PlatformFileError       the platform file cannot be applied (platform.schema)
├── UpstreamError               a service gave no usable answer; `status` for the browser
│   ├── UpstreamUnavailable     refused or unreachable (502)
│   │   └── CircuitOpen         failed too often lately: not called for a while (503)
│   │       └── UpstreamBusy    every connection of the instance stayed busy
│   ├── UpstreamTimeout         too slow (504)
│   │   └── ConnectTimeout      could not even connect in time
│   ├── ProtocolViolation       answered, but not as the protocol says (502)
│   ├── ServiceFailed           the action raised: a 500, its traceback in `detail` (DEBUG)
│   └── ServiceRefused          the service's network guard refused this proxy (502)
├── PageError                   stop the page pipeline with an error page (pipeline.state)
│   ├── LoginRequired           an anonymous user must sign in first (pipeline.access)
│   └── ServiceFailure          a failed call's page, `detail` for staff (pipeline.errors)
├── TemplateCompileError        a service template does not compile (rendering)
├── TemplateRenderError         a service template failed while rendering (rendering)
├── MailRefused                 `POST mail/` refused: 400, 413 or 429 (mail.form)
│   ├── MailFormError           a field of the form is missing or wrong
│   └── MailLimitError          a size or rate limit of the platform is reached
├── UnusableMail                an inbound reply cannot be delivered (mail.inbound)
├── Full                        no bulkhead slot in time; becomes UpstreamBusy (bulkhead)
├── MetaNotFound                no action at a route; becomes a 404 page (pipeline.meta)
└── TemplateNotFound            no template at a route; becomes a 404 page (pipeline.template)

The last three never leave the module that catches them. tests/test_exception_tree.py
checks that this list names every exception class in src/, each under its parent.
"""

from __future__ import annotations

import inspect
import urllib.error
from typing import NoReturn

from plugit.protocol import PASS_THROUGH_STATUSES

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "Abort",
    "ConfigurationError",
    "PlugItError",
    "abort",
    "http_description",
    "http_status",
]


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

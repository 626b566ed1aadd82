"""PlugIt: write a service once, deploy it behind any PlugIt proxy."""

# The original API reached `plugit.api`, `.params` and `.utils` after a bare `import plugit`.
# Importing them reads no configuration: `params` loads `config.py` only when a name is read.
from plugit import api, params, utils
from plugit._default import app, load_actions
from plugit.exceptions import (
    Abort,
    APIConnectionError,
    APIError,
    APIResponseError,
    ConfigurationError,
    PlugItError,
    abort,
)
from plugit.interceptors import ActionCall, CallNext
from plugit.request import Request
from plugit.responses import Redirect, SendFile, SetSession
from plugit.service import Service
from plugit.settings import Settings

__version__ = "2.0.0.dev0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "Abort",
    "ActionCall",
    "CallNext",
    "ConfigurationError",
    "PlugItError",
    "Redirect",
    "Request",
    "SendFile",
    "Service",
    "SetSession",
    "Settings",
    "__version__",
    "abort",
    "api",
    "app",
    "load_actions",
    "params",
    "utils",
]

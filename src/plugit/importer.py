"""Load an object from a `module:attribute` import string, with errors that say what to fix."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from plugit.exceptions import ConfigurationError

__all__ = ["import_from_string"]


def import_from_string(target: str) -> Any:
    """Import `package.module:attribute` (the attribute may be dotted) from the working dir."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{target!r} is not of the form 'module:attribute', e.g. app:svc")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise ConfigurationError(
                f"could not import module {module_name!r} (from {os.getcwd()})"
            ) from None
        raise
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigurationError(
                f"module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return found

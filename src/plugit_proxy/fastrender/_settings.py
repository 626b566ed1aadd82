"""Django settings the renderer reads for every value, kept at hand.

`settings.X` goes through a lazy object (about half a microsecond a read), and a page reads
`USE_THOUSAND_SEPARATOR` once per number. The values are read once, and forgotten whenever
Django says a setting changed (`override_settings` in tests), so they are always Django's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

__all__ = ["setting"]

_known: dict[str, Any] = {}


def setting(name: str) -> Any:
    """Return `getattr(settings, name)`, read once."""
    try:
        return _known[name]
    except KeyError:
        value = _known[name] = getattr(settings, name)
        return value


def _forget(**kwargs: Any) -> None:
    _known.clear()


setting_changed.connect(_forget, dispatch_uid="plugit_proxy.fastrender.settings")

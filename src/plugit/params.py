"""The effective settings under their original names: `plugit.params.DEBUG`, ...

Reads the service built by `load_actions` when there is one, else `plugit.app.config` (seeded
from `config.py`) and the `PLUGIT_*` environment variables, at the moment a name is read
(never at import: `import plugit` must not load `config.py`).
"""

from __future__ import annotations

from typing import Any

from plugit.exceptions import ConfigurationError
from plugit.settings import CONFIG_NAMES, Settings

# Each setting is read when its attribute is (`plugit.params.DEBUG`): nothing to star-import.
__all__: list[str] = []


def _effective_settings() -> Settings:
    """The settings of the loaded service, or those `config.py` and the environment give."""
    from plugit._default import app

    try:
        return app.service.settings
    except ConfigurationError:  # no service loaded yet: what load_actions would use
        return Settings.load(app.config)


def __getattr__(name: str) -> Any:
    # Check the name first: probes such as hasattr(params, "__path__") must not load config.py.
    if name not in CONFIG_NAMES and name not in Settings.__dataclass_fields__:
        raise AttributeError(f"plugit.params has no setting {name!r}")
    settings = _effective_settings()
    if name == "PI_ALLOWED_NETWORKS":
        return [str(network) for network in settings.allowed_networks]
    return getattr(settings, CONFIG_NAMES.get(name, name))

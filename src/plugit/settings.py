"""A service's typed settings, read from a `config.py` module and `PLUGIT_*` variables.

Existing services keep their `config.py` with the original names (`DEBUG`, `PI_BASE_URL`,
`PI_ALLOWED_NETWORKS`, ...). Environment variables override it: `PLUGIT_DEBUG`,
`PLUGIT_BASE_URL`, `PLUGIT_ALLOWED_NETWORKS` (comma separated), and so on. Everything is
checked once, when the settings are built, and a bad value raises `ConfigurationError`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_META_MAX_AGE, PROTOCOL_NAME

__all__ = ["CONFIG_NAMES", "Network", "Settings", "config_file", "import_config", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_PREFIX = "PLUGIT_"
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a service's behaviour depends on; immutable once built."""

    debug: bool = False
    base_url: str = "/"
    allowed_networks: tuple[Network, ...] = ()
    use_proxy_ip: bool = False
    api_name: str = PROTOCOL_NAME
    meta_cache: int | None = None
    api_url: str | None = None
    max_body_size: int = 10 * 1024 * 1024
    media_max_age: int = 3600
    port: int = 5000  # where `run()` listens when not told; environment only (PLUGIT_PORT)

    def __post_init__(self) -> None:
        if not self.base_url.startswith("/") or not self.base_url.endswith("/"):
            raise ConfigurationError(
                f"PI_BASE_URL must start and end with '/', got {self.base_url!r}"
            )
        if self.max_body_size <= 0:
            raise ConfigurationError(f"max_body_size must be positive, got {self.max_body_size}")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"the port must be from 0 to 65535, got {self.port}")
        if not self.allowed_networks:
            object.__setattr__(self, "allowed_networks", parse_networks(LOOPBACK_NETWORKS))
        elif not all(isinstance(net, Network) for net in self.allowed_networks):
            # Settings(allowed_networks=["10.0.0.0/8"]) is the natural spelling: accept it.
            networks = tuple(
                net if isinstance(net, Network) else parse_networks(str(net))[0]
                for net in self.allowed_networks
            )
            object.__setattr__(self, "allowed_networks", networks)

    @property
    def meta_max_age(self) -> int:
        """Seconds the proxy may keep a meta answer (PI_META_CACHE, else 0 in DEBUG, else 300)."""
        if self.meta_cache is not None:
            return self.meta_cache
        return 0 if self.debug else DEFAULT_META_MAX_AGE

    @classmethod
    def load(
        cls,
        config: ModuleType | Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Build settings from a config module (or mapping) overridden by `PLUGIT_*` variables."""
        values = _from_config(config) if config is not None else {}
        values.update(_from_environ(os.environ if environ is None else environ))
        return cls(**values)


# Original `config.py` names -> our field names.
CONFIG_NAMES = {
    "DEBUG": "debug",
    "PI_BASE_URL": "base_url",
    "PI_ALLOWED_NETWORKS": "allowed_networks",
    "PI_USE_PROXY_IP": "use_proxy_ip",
    "PI_API_NAME": "api_name",
    "PI_META_CACHE": "meta_cache",
    "API_URL": "api_url",
    "PI_MAX_BODY_SIZE": "max_body_size",
    "PI_MEDIA_CACHE": "media_max_age",
}
# Fields set only by a `PLUGIT_*` variable: original services never had them in config.py.
_ENVIRONMENT_ONLY = ("port",)


def _from_config(config: ModuleType | Mapping[str, Any]) -> dict[str, Any]:
    source = config if isinstance(config, Mapping) else vars(config)
    values: dict[str, Any] = {}
    for name, field in CONFIG_NAMES.items():
        if name in source and source[name] is not None:
            values[field] = _coerce(field, source[name], origin=f"config.{name}")
    return values


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in (*CONFIG_NAMES.values(), *_ENVIRONMENT_ONLY):
        variable = ENV_PREFIX + field.upper()
        if environ.get(variable, "") != "":
            values[field] = _coerce(field, environ[variable], origin=variable)
    return values


def _coerce(field: str, value: Any, *, origin: str) -> Any:
    """Turn a raw value (from config.py or the environment) into the field's type."""
    try:
        if field in {"debug", "use_proxy_ip"}:
            return _to_bool(value)
        if field in {"meta_cache", "max_body_size", "media_max_age", "port"}:
            return int(value)
        if field == "allowed_networks":
            items = value.split(",") if isinstance(value, str) else value
            return parse_networks(items)
        return str(value)
    except (TypeError, ValueError, ConfigurationError) as error:
        raise ConfigurationError(f"{origin} has an invalid value {value!r}: {error}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def parse_networks(items: Sequence[str] | str) -> tuple[Network, ...]:
    """Parse CIDR strings (IPv4 or IPv6); a bad one raises ConfigurationError naming it."""
    if isinstance(items, str):
        items = [items]
    networks = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{text!r} is not a network; write CIDR such as '127.0.0.1/32' or '::1/128'"
            ) from None
    return tuple(networks)


def import_config(name: str = "config") -> ModuleType | None:
    """Import the service's `config` module from the working directory, if there is one."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise


def config_file(directory: Path) -> ModuleType | None:
    """Load `<directory>/config.py` by its path, if it exists (never another `config` module)."""
    path = directory / "config.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_plugit_config_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot load the settings file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

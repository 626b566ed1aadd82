"""The module-level service of the original API: `plugit.load_actions` and `plugit.app`.

`plugit.app.config` is a plain dict, seeded (on first use) with the upper-case names of the
service's `config.py`, as Flask's `app.config` was. It exists before `load_actions` runs:
what a `server.py` sets in it *before* `load_actions` also becomes the service's settings
(e.g. `PI_ALLOWED_NETWORKS`); what it sets *after* (e.g. `SQLALCHEMY_DATABASE_URI`, as the
original example does) no longer changes the settings, but every action can read it.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.types import Receive, Scope, Send

from plugit.endpoints import MailCallback
from plugit.exceptions import ConfigurationError
from plugit.service import Service
from plugit.settings import Settings, import_config


def config_values(module: ModuleType | None) -> dict[str, Any]:
    """The upper-case names of a config module (none when there is no module)."""
    if module is None:
        return {}
    return {name: value for name, value in vars(module).items() if name.isupper()}


class DefaultApp:
    """`plugit.app`: the service built by `load_actions`, served as ASGI or with `.run()`."""

    def __init__(self) -> None:
        self._service: Service | None = None
        self._config: dict[str, Any] | None = None

    @property
    def config(self) -> dict[str, Any]:
        """The service's configuration: `config.py`'s upper-case names, then what code sets."""
        if self._config is None:  # config.py is read on first use, never at import
            self._config = config_values(import_config())
        return self._config

    @property
    def service(self) -> Service:
        """The service `load_actions` built."""
        if self._service is None:
            raise ConfigurationError("no actions loaded: call plugit.load_actions(module) first")
        return self._service

    @service.setter
    def service(self, service: Service) -> None:
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.service(scope, receive, send)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        debug: bool | None = None,
        **ignored: Any,
    ) -> None:
        """Serve the loaded actions, as the original Flask `app.run` did (`threaded` ignored).

        Without `port`, the port is `PLUGIT_PORT` (default 5000).
        """
        self.service.run(host=host, port=port, debug=debug, **ignored)


app = DefaultApp()


def load_actions(module: ModuleType, mail_callback: MailCallback | None = None) -> Service:
    """Build the service from the actions declared in `module`, with `plugit.app.config`."""
    service = Service(
        module.__name__,
        root=_service_root(module),
        settings=Settings.load(app.config),
        mail_callback=mail_callback,
    )
    if service.add_module(module) == 0:
        raise ConfigurationError(f"module {module.__name__!r} declares no @action")
    app.service = service
    return service


def _service_root(module: ModuleType) -> Path:
    """Where templates/ and media/ are: beside the actions module, else the working directory."""
    module_file = getattr(module, "__file__", None)
    if module_file:
        folder = Path(module_file).resolve().parent
        if (folder / "templates").is_dir() or (folder / "media").is_dir():
            return folder
    return Path.cwd()

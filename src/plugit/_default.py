"""The module-level service of the original API: `plugit.load_actions` and `plugit.app`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.types import Receive, Scope, Send

from plugit.exceptions import ConfigurationError
from plugit.service import MailCallback, Service
from plugit.settings import Settings, import_config


class DefaultApp:
    """`plugit.app`: the service built by `load_actions`, served as ASGI or with `.run()`."""

    def __init__(self) -> None:
        self._service: Service | None = None

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
        self, host: str = "127.0.0.1", port: int = 5000, debug: bool | None = None, **ignored: Any
    ) -> None:
        """Serve the loaded actions (as the original Flask `app.run` did)."""
        self.service.run(host=host, port=port, debug=debug, **ignored)


app = DefaultApp()


def load_actions(module: ModuleType, mail_callback: MailCallback | None = None) -> Service:
    """Build the service from the actions declared in `module` and settings from `config.py`."""
    service = Service(
        module.__name__,
        root=_service_root(module),
        settings=Settings.load(import_config()),
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

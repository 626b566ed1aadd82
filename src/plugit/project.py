"""A project folder: several services that share one config, one test suite, one process.

`plugit new project NAME` writes it. Its marker file, `plugit-project.toml`, names the project;
each folder of `services/` that holds a `service.py` is one service, served by
`plugit serve --all` under `/<folder name>/` (see `plugit.bundle`). `config.py`, at the
project's root, is the settings module the services share.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp

from plugit.bundle import Bundle
from plugit.exceptions import ConfigurationError

__all__ = [
    "MARKER",
    "SERVICES_FOLDER",
    "ProjectFolder",
    "find_project",
    "project_app",
]

MARKER = "plugit-project.toml"
SERVICES_FOLDER = "services"
SERVICE_MODULE = "service"  # services/<name>/service.py
SERVICE_ATTRIBUTE = "service"  # ... which defines `service`


@dataclass(frozen=True)
class ProjectFolder:
    """A project on disk: its root (where the marker file is) and its name."""

    root: Path
    name: str

    @classmethod
    def at(cls, root: Path) -> ProjectFolder:
        """Read the project whose marker file is in `root`."""
        marker = root / MARKER
        try:
            data = tomllib.loads(marker.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigurationError(f"cannot read {marker}: {error}") from None
        name = data.get("name", root.name)
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"{marker}: 'name' must be a non-empty string")
        return cls(root.resolve(), name)

    @property
    def services_folder(self) -> Path:
        return self.root / SERVICES_FOLDER

    def service_names(self) -> list[str]:
        """The project's services (the folders of `services/` with a service.py), sorted."""
        if not self.services_folder.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.services_folder.iterdir()
            if (entry / f"{SERVICE_MODULE}.py").is_file()
        )

    def bundle(self) -> Bundle:
        """Import every service and bundle them, each under `/<its name>/`."""
        names = self.service_names()
        if not names:
            raise ConfigurationError(
                f"the project {self.name!r} has no service yet: add one with "
                f"`plugit new service NAME` in {self.root}"
            )
        root = str(self.root)
        if root not in sys.path:  # `import config` and `services.<name>.service`
            sys.path.insert(0, root)
        return Bundle({name: self._load(name) for name in names}, name=self.name)

    def _load(self, name: str) -> ASGIApp:
        module_name = f"{SERVICES_FOLDER}.{name}.{SERVICE_MODULE}"
        module = importlib.import_module(module_name)
        try:
            app: ASGIApp = getattr(module, SERVICE_ATTRIBUTE)
        except AttributeError:
            raise ConfigurationError(
                f"{module.__file__} defines no `{SERVICE_ATTRIBUTE}`: each service's "
                f"service.py must (service = Service(...))"
            ) from None
        return app


def find_project(start: Path) -> ProjectFolder | None:
    """The project that `start` is in (its folder or a parent holds the marker), if any."""
    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / MARKER).is_file():
            return ProjectFolder.at(folder)
    return None


def project_app() -> Bundle:
    """The bundle of the project in the working directory (uvicorn's factory for --all)."""
    project = find_project(Path.cwd())
    if project is None:
        raise ConfigurationError(f"{Path.cwd()} is not in a project ({MARKER} not found)")
    return project.bundle()

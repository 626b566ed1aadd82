"""Start-up: the data folder made ready, then Django set up, from one configuration.

`configure(config)` is the one place that sets Django up: the command line calls it with the
configuration its flags built, and `plugit_proxy.asgi` with the one the environment (and the
parent's `PLUGIT_FLAGS`) builds. Django's settings (plugit_proxy.settings) are derived from the
installed configuration; imported on their own (`manage.py`, `django-admin`, the test suite),
they build it from the environment and run `prepare_data_dir` themselves.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .assets import BOOTSTRAP3_VERSION, build_bootstrap3_css
from .conf import Configuration, current_configuration, install_configuration

__all__ = ["DataDir", "configure", "prepare_data_dir", "private_file"]

SETTINGS_MODULE = "plugit_proxy.settings"


@dataclass(frozen=True)
class DataDir:
    """The data folder once ready: its path, the secret key in force, the static folders."""

    path: Path
    secret_key: str

    @property
    def static_root(self) -> Path:
        """Where collected static files would go (empty: files come from the finders)."""
        return self.path / "static"

    @property
    def built_static(self) -> Path:
        """Bootstrap 3's CSS, compiled from its Sass sources once per version."""
        return self.path / "built-static" / f"bootstrap-{BOOTSTRAP3_VERSION}"


_prepared: dict[Path, DataDir] = {}


def prepare_data_dir(config: Configuration) -> DataDir:
    """Make the data folder ready (owner only): secret key, static folders; once per folder."""
    path = config.server.data_dir
    ready = _prepared.get(path)
    if ready is None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        ready = DataDir(path, _generated_key(path) if not config.security.secret_key else "")
        ready.static_root.mkdir(exist_ok=True)
        build_bootstrap3_css(ready.built_static)
        if not config.database.url:
            private_file(path / "db.sqlite3")
        _prepared[path] = ready
    if config.security.secret_key:
        return DataDir(path, config.security.secret_key)
    return ready if ready.secret_key else DataDir(path, _generated_key(path))


def private_file(path: Path) -> Path:
    """Create `path` readable by its owner only, or take group and others' access away."""
    if not path.exists():
        path.touch(mode=0o600)
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


def _generated_key(directory: Path) -> str:
    key_file = directory / "secret_key"
    if not key_file.exists():
        # Written whole under another name, then linked in place: a process starting at the
        # same moment either finds no file or the complete key, and one key wins for both.
        draft = directory / f".secret_key.{os.getpid()}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(50))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def configure(config: Configuration | None = None) -> None:
    """Install `config` (None: the environment's), ready its data folder, set Django up (once)."""
    import django
    from django.apps import apps
    from django.conf import settings

    if not settings.configured:  # else the settings in force stay (a process sets up once)
        config = config or current_configuration()
        install_configuration(config)
        prepare_data_dir(config)
        # Django finds its settings by this variable, in this process and in uvicorn's workers.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if not apps.ready:
        django.setup(set_prefix=False)

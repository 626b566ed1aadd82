"""What `plugit new` writes: a working service, from templates shipped as package data.

The files under `files/<kind>/` are copied with two substitutions: `{{key}}` (no spaces) in
their text becomes the value of `key`, and `__name__` in their path becomes the service's
name. A trailing `.tmpl` is dropped (it keeps tools from taking the templates for the SDK's
own code) and a leading `dot.` becomes `.` (package data leaves dotfiles out). Django's own
`{{ variable }}` (with spaces) in the service's templates passes through untouched.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from plugit.exceptions import PlugItError

__all__ = ["ScaffoldError", "check_name", "create_service", "render", "written_files"]

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_TEMPLATE_SUFFIX = ".tmpl"
_NAME_IN_PATH = "__name__"
_DOTFILE_PREFIX = "dot."


class ScaffoldError(PlugItError):
    """A new project cannot be written: a bad name, or its directory exists."""


def check_name(name: str) -> str:
    """Return `name` if it can name a service (and its folder), else raise ScaffoldError."""
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a valid service name: use lower-case letters, digits and "
            f"underscores, starting with a letter (at most 50 characters), e.g. 'my_service'"
        )
    return name


def render(text: str, context: Mapping[str, str]) -> str:
    """Replace each `{{key}}` by `context[key]`; an unknown key is a bug in the template."""

    def replace(found: re.Match[str]) -> str:
        key = found[1]
        if key not in context:
            raise KeyError(f"the scaffold template uses {{{{{key}}}}}, which is not defined")
        return context[key]

    return _PLACEHOLDER.sub(replace, text)


def create_service(name: str, directory: Path) -> Path:
    """Write a new service called `name` in `directory/name`; return that folder."""
    check_name(name)
    target = Path(directory) / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another name or remove it")
    context = {"name": name, "title": name.replace("_", " ").capitalize()}
    source = resources.files(__name__) / "files" / "service"
    files = list(_template_files(source, PurePosixPath()))
    target.mkdir(parents=True)
    for relative, source in files:
        destination = target / _output_path(relative, name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(render(source.read_text(encoding="utf-8"), context), "utf-8")
    return target


def written_files(target: Path) -> list[Path]:
    """The files of a scaffolded project, relative to it, in a stable order."""
    return sorted(path.relative_to(target) for path in target.rglob("*") if path.is_file())


def _template_files(
    folder: Traversable, relative: PurePosixPath
) -> Iterator[tuple[PurePosixPath, Traversable]]:
    """Every file under `folder` with its path relative to it (caches left out)."""
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _template_files(entry, relative / entry.name)
        else:
            yield relative / entry.name, entry


def _output_path(relative: PurePosixPath, name: str) -> Path:
    """Where a template file goes: `__name__` replaced, `.tmpl` dropped, `dot.` made `.`."""
    parts = [part.replace(_NAME_IN_PATH, name) for part in relative.parts]
    last = parts[-1].removesuffix(_TEMPLATE_SUFFIX)
    if last.startswith(_DOTFILE_PREFIX):
        last = "." + last.removeprefix(_DOTFILE_PREFIX)
    return Path(*parts[:-1], last)

"""What `plugit new` writes: a working service or project, from templates in package data.

`files/service/` is a service alone; `files/project/` a project (see `plugit.project`), and
`files/project_service/` what each of its services adds to it. Files are copied with two
substitutions: `{{key}}` (no spaces) in their text becomes the value of `key`, and `__name__`
in their path becomes the service's name. A trailing `.tmpl` is dropped (it keeps tools from
taking the templates for the SDK's own code) and a leading `dot.` becomes `.` (package data
leaves dotfiles out). Django's own `{{ variable }}` (with spaces) in the service's templates
passes through untouched.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from plugit.exceptions import PlugItError

__all__ = [
    "ScaffoldError",
    "add_service",
    "check_name",
    "create_project",
    "create_service",
    "render",
    "written_files",
]

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_TEMPLATE_SUFFIX = ".tmpl"
_NAME_IN_PATH = "__name__"
_DOTFILE_PREFIX = "dot."


class ScaffoldError(PlugItError):
    """A new service or project cannot be written: a bad name, or its files exist."""


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
    _write("service", target, _context(name))
    return target


def create_project(name: str, directory: Path, services: Sequence[str] = ("hello",)) -> Path:
    """Write a new project called `name` in `directory/name`, with `services`; return it."""
    check_name(name)
    for service in services:
        check_name(service)
    if not services:
        raise ScaffoldError("a project starts with at least one service")
    if len(set(services)) != len(services):
        raise ScaffoldError(f"a service is named twice in {', '.join(services)}")
    target = Path(directory) / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another name or remove it")
    _write("project", target, {**_context(name), "first": services[0]})
    for service in services:
        add_service(target, service)
    return target


def add_service(project_root: Path, name: str) -> list[Path]:
    """Add the service `name` to the project at `project_root`; return the files written."""
    check_name(name)
    files = _files("project_service")
    outputs = [project_root / _output_path(relative, name) for relative, _ in files]
    for existing in (project_root / "services" / name, *outputs):
        if existing.exists():
            raise ScaffoldError(
                f"{existing} already exists: choose another name for the service or remove it"
            )
    _write("project_service", project_root, _context(name))
    return [output.relative_to(project_root) for output in outputs]


def _context(name: str) -> dict[str, str]:
    return {"name": name, "title": name.replace("_", " ").capitalize()}


def _files(kind: str) -> list[tuple[PurePosixPath, Traversable]]:
    return list(_template_files(resources.files(__name__) / "files" / kind, PurePosixPath()))


def _write(kind: str, target: Path, context: Mapping[str, str]) -> None:
    """Copy the templates of `kind` into `target`, filled in with `context`."""
    for relative, source in _files(kind):
        destination = target / _output_path(relative, context["name"])
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(render(source.read_text(encoding="utf-8"), context), "utf-8")


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

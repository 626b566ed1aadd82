"""A service's template files: their raw text and the tag (MD5) the proxy caches them by."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

__all__ = ["TemplateStore"]


@dataclasses.dataclass(frozen=True)
class TemplateFile:
    """One template's bytes and their hex MD5 tag."""

    content: bytes
    tag: str


class TemplateStore:
    """Reads templates from one folder, refusing names that would leave it."""

    def __init__(self, directory: Path, *, reload: bool = False) -> None:
        self.directory = directory.resolve()
        self.reload = reload
        self._cache: dict[str, TemplateFile] = {}

    def get(self, name: str) -> TemplateFile | None:
        """The template called `name`, or None when it is missing or outside the folder."""
        if not name:
            return None
        if not self.reload and name in self._cache:
            return self._cache[name]
        path = self.resolve(name)
        if path is None:
            return None
        try:
            content = path.read_bytes()
        except OSError:
            return None
        found = TemplateFile(content, hashlib.md5(content, usedforsecurity=False).hexdigest())
        if not self.reload:
            self._cache[name] = found
        return found

    def resolve(self, name: str) -> Path | None:
        """The file for `name` when it is a regular file inside the folder."""
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            return None
        return path

    def tag(self, name: str) -> str:
        """The template's tag, or "" when the action has no (readable) template."""
        found = self.get(name)
        return found.tag if found else ""

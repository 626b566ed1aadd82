"""Which project a browser path belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Project

__all__ = ["ProjectRegistry"]


@dataclass(frozen=True)
class ProjectRegistry:
    """The projects of the platform, found by their mount path (longest mount first)."""

    projects: tuple[Project, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.projects, key=lambda project: len(project.mount), reverse=True))
        object.__setattr__(self, "projects", ordered)

    def resolve(self, path: str) -> tuple[Project, str] | None:
        """Return the project mounted at `path` and the route below its mount."""
        for project in self.projects:
            if path.startswith(project.mount):
                return project, "/" + path[len(project.mount) :]
        return None

    def mount_without_slash(self, path: str) -> Project | None:
        """Return the project whose mount is `path` plus a slash (to redirect there)."""
        return next((p for p in self.projects if p.mount == path + "/"), None)

"""`plugit platform apply`: bring the database in line with a platform file (to be written)."""

from __future__ import annotations

from pathlib import Path


def apply_file(path: Path) -> int:
    """Apply the platform file at `path`; return the process exit code."""
    raise NotImplementedError

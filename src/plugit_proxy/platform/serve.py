"""`plugit platform serve`: run the hosted platform (to be written)."""

from __future__ import annotations


def serve(*, host: str, port: int, workers: int | None) -> int:
    """Migrate the database, then serve the platform; return the process exit code."""
    raise NotImplementedError

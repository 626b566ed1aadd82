"""Cookie details the pipeline shares with Django's middleware: SameSite spelling, `Vary`."""

from __future__ import annotations

from starlette.responses import Response

__all__ = ["samesite", "vary_on_cookie"]


def vary_on_cookie(response: Response) -> None:
    """Add `Cookie` to the response's `Vary` header once, as Django's `patch_vary_headers`."""
    current = response.headers.get("vary")
    if current is None:
        response.headers["vary"] = "Cookie"
        return
    names = [name.strip() for name in current.split(",") if name.strip()]
    if any(name == "*" or name.lower() == "cookie" for name in names):
        return
    response.headers["vary"] = ", ".join([*names, "Cookie"])


def samesite(value: str | bool | None) -> str | None:
    """Spell a SameSite setting as the cookie writer does (unset: no attribute)."""
    return value.lower() if isinstance(value, str) and value else None

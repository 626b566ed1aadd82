"""What the renderer and the proxy's template tags share (`{% load plugit_tags %}`).

The tags never call a service: the renderer puts what they need in the context under these
keys, and a tag that finds its data missing records it in a `Missing` for the renderer to
fetch before the next pass. The layout's slots are markers the pipeline fills per request.
"""

from __future__ import annotations

__all__ = ["INCLUDES_KEY", "MISSING_KEY", "SLOT_MARKER", "USERS_KEY", "Missing", "normalise_route"]

INCLUDES_KEY = "_plugit_includes"
USERS_KEY = "_plugit_users"
MISSING_KEY = "_plugit_missing"
SLOT_MARKER = "<!--plugit:slot:{}-->"


class Missing:
    """What the tags of one render pass asked for and did not find."""

    def __init__(self) -> None:
        self.includes: set[str] = set()
        self.users: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.includes or self.users)


def normalise_route(route: str) -> str:
    """Give an action route its leading slash (`menubar` -> `/menubar`)."""
    return route if route.startswith("/") else "/" + route

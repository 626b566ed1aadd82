"""`plugit mail worker|poll|receive` (to be written)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the `mail` command group."""
    commands.add_parser("mail", help="send queued mail, poll or receive replies")

"""Which optional parts of PlugIt are installed, and the commands that need them.

`pip install plugit3` is the SDK alone; the proxy and the platform come with the `proxy`
extra (Django and friends). The commands that need it are left out of `plugit --help` without
it, and say in one line what to install when they are called anyway.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

__all__ = ["COMMANDS_NEEDING_EXTRAS", "add_missing_commands", "proxy_installed"]

# The modules of the proxy extra that its commands import first.
PROXY_MODULES = ("django", "aiohttp")

# Each command that needs an extra, and the extras to install for it.
COMMANDS_NEEDING_EXTRAS = {
    "proxy": "proxy",
    "platform": "proxy",
    "mail": "proxy",
    "dev": "proxy",
    "demo": "proxy,examples",
}


def proxy_installed() -> bool:
    """Whether the proxy extra is installed (its modules are found; none is imported)."""
    return all(find_spec(name) is not None for name in PROXY_MODULES)


def add_missing_commands(commands: Any) -> None:
    """Add each command needing an extra that is not there: hidden, it says what to install.

    `commands` is the `plugit` parser's subparsers, whose parser class is `CommandParser`.
    """
    for name, extra in COMMANDS_NEEDING_EXTRAS.items():
        if name not in commands.choices:
            commands.add_parser(name, add_help=False, missing_extra=extra)

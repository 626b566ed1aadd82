"""Where a service template failed: its line, and a few lines around it with that one marked.

Django knows the line of a syntax error from the token it stopped at (every engine), and the
line of a rendering error only with a debug engine (`template_debug`, which the proxy's
development mode turns on: rendering.py). What it cannot place is described without lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["RADIUS", "compile_location", "excerpt", "render_location"]

RADIUS = 2  # lines shown on each side of the failing one


def excerpt(lines: Sequence[tuple[int, str]], line: int, radius: int = RADIUS) -> str:
    """Number `lines` (number, text) within `radius` of `line`, marking `line` with `>`."""
    shown = [(number, text) for number, text in lines if abs(number - line) <= radius]
    width = len(str(max((number for number, _ in shown), default=line)))
    return "\n".join(
        f"{'>' if number == line else ' '} {number:>{width}} | {text.rstrip()}"
        for number, text in shown
    )


def compile_location(source: str, error: Exception) -> tuple[int, str] | None:
    """The line of a syntax error in `source` and the excerpt around it, when Django knows it."""
    debug = _template_debug(error)
    if debug is not None:
        return debug
    token = getattr(error, "token", None)
    line = getattr(token, "lineno", None)
    if not isinstance(line, int):
        return None
    numbered = list(enumerate(source.splitlines(), start=1))
    return line, excerpt(numbered, line)


def render_location(error: Exception) -> tuple[str, int, str] | None:
    """The template, line and excerpt where rendering failed (debug engines only), or None."""
    debug = getattr(error, "template_debug", None)
    found = _template_debug(error)
    if found is None or not isinstance(debug, dict):
        return None
    return str(debug.get("name", "")), *found


def _template_debug(error: Exception) -> tuple[int, str] | None:
    debug: Any = getattr(error, "template_debug", None)
    if not isinstance(debug, dict):
        return None
    line, lines = debug.get("line"), debug.get("source_lines")
    if not isinstance(line, int) or not isinstance(lines, list):
        return None
    return line, excerpt(lines, line)

"""Werkzeug/Flask route syntax: `/show/<int:pollId>`, `/file/<path:name>`, `/user/<name>`.

A route compiles to one regular expression; matching returns the route variables already
converted (`int`, `float`, `path`, `string`, `uuid`, `any(a, b)`), ready to be passed to the
action as keyword arguments.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from typing import Any

from plugit.exceptions import ConfigurationError

__all__ = ["Route", "compile_route", "example_path"]

_VARIABLE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?"
    r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>"
)


@dataclasses.dataclass(frozen=True)
class Converter:
    """How one kind of route variable is matched and turned into a Python value."""

    pattern: str
    to_python: Callable[[str], Any]


def _any_choices(args: str) -> list[str]:
    return [choice.strip().strip("'\"") for choice in args.split(",") if choice.strip()]


def _any_converter(args: str) -> Converter:
    choices = _any_choices(args)
    if not choices:
        raise ConfigurationError("the 'any' route converter needs choices: <any(a, b):name>")
    return Converter("|".join(re.escape(choice) for choice in choices), str)


_CONVERTERS: dict[str, Converter] = {
    "string": Converter(r"[^/]+", str),
    "default": Converter(r"[^/]+", str),
    "int": Converter(r"\d+", int),
    "float": Converter(r"\d+\.\d+", float),
    "path": Converter(r"[^/].*?", str),
    "uuid": Converter(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        uuid.UUID,
    ),
}


@dataclasses.dataclass(frozen=True)
class Route:
    """A compiled route."""

    rule: str
    regex: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]

    @property
    def is_static(self) -> bool:
        """True when the route has no variables."""
        return not self.converters

    def match(self, path: str) -> dict[str, Any] | None:
        """Return the converted variables when `path` matches, else None."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        try:
            return {name: convert(found[name]) for name, convert in self.converters.items()}
        except ValueError:
            return None


def compile_route(rule: str) -> Route:
    """Compile a Werkzeug-style rule; a malformed rule raises ConfigurationError."""
    if not rule.startswith("/"):
        raise ConfigurationError(f"route {rule!r} must start with '/'")
    pattern: list[str] = []
    converters: dict[str, Callable[[str], Any]] = {}
    position = 0
    for variable in _VARIABLE.finditer(rule):
        pattern.append(re.escape(rule[position : variable.start()]))
        name = variable["name"]
        converter = _converter(rule, variable["converter"] or "default", variable["args"])
        if name in converters:
            raise ConfigurationError(f"route {rule!r} uses the variable {name!r} twice")
        converters[name] = converter.to_python
        pattern.append(f"(?P<{name}>{converter.pattern})")
        position = variable.end()
    rest = rule[position:]
    if "<" in rest or ">" in rest:
        raise ConfigurationError(f"route {rule!r} has a malformed variable near {rest!r}")
    pattern.append(re.escape(rest))
    return Route(rule, re.compile("".join(pattern)), converters)


def _converter(rule: str, name: str, args: str | None) -> Converter:
    if name == "any":
        return _any_converter(args or "")
    try:
        return _CONVERTERS[name]
    except KeyError:
        known = ", ".join(sorted(set(_CONVERTERS) - {"default"} | {"any"}))
        raise ConfigurationError(
            f"route {rule!r} uses the unknown converter {name!r}; known: {known}"
        ) from None


# A value each converter accepts, to build a path that a route matches.
_EXAMPLES = {"int": "1", "float": "1.0", "uuid": str(uuid.UUID(int=0))}


def example_path(rule: str) -> str:
    """A path `rule` matches, its variables filled with sample values (`/show/1`)."""

    def sample(variable: re.Match[str]) -> str:
        converter = variable["converter"] or "default"
        if converter == "any":
            return (_any_choices(variable["args"] or "") or ["example"])[0]
        return _EXAMPLES.get(converter, "example")

    return _VARIABLE.sub(sample, rule)

"""A service's action registry: adopts action specs and resolves paths to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plugit.actions import ActionSpec
from plugit.exceptions import ConfigurationError

__all__ = ["ActionRegistry"]


class ActionRegistry:
    """Actions by route; refuses changes once the service has started serving."""

    def __init__(self) -> None:
        self._by_rule: dict[str, ActionSpec] = {}
        self._static: dict[str, ActionSpec] = {}
        self._dynamic: list[ActionSpec] = []
        self._frozen = False

    def add(self, spec: ActionSpec) -> None:
        """Adopt an action; a second action on the same route is a configuration error."""
        if self._frozen:
            raise ConfigurationError(
                f"cannot add action {spec.name!r}: the service is already serving requests"
            )
        if spec.route is None or spec.compiled is None:
            raise ConfigurationError(f"{spec.name!r} has no route: decorate it with @action")
        existing = self._by_rule.get(spec.route)
        if existing is not None and existing is not spec:
            raise ConfigurationError(
                f"route {spec.route!r} is declared by both {existing.name!r} and {spec.name!r}"
            )
        self._by_rule[spec.route] = spec
        if spec.compiled.is_static:
            self._static[spec.route] = spec
        else:
            self._dynamic.append(spec)

    def freeze(self) -> None:
        """Refuse further changes (called when the service starts serving)."""
        self._frozen = True

    def resolve(self, path: str) -> tuple[ActionSpec, dict[str, Any]] | None:
        """The action answering `path` and its converted route variables, if any."""
        spec = self._static.get(path)
        if spec is not None:
            return spec, {}
        for spec in self._dynamic:
            assert spec.compiled is not None
            kwargs = spec.compiled.match(path)
            if kwargs is not None:
                return spec, kwargs
        return None

    def __iter__(self) -> Iterator[ActionSpec]:
        return iter(list(self._by_rule.values()))

    def __len__(self) -> int:
        return len(self._by_rule)

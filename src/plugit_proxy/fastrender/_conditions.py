"""The conditions of `{% if %}` (Django's smart-if tree) as closures with its semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.template.base import FilterExpression
from django.template.context import Context
from django.template.defaulttags import TemplateLiteral
from django.template.smartif import OPERATORS

from ._values import Resolver, compile_filter_expression

__all__ = ["compile_condition"]

Binary = Callable[[Any, Any], Any]

# Each evaluates both sides, left first, as Django's lambdas do; "and"/"or"/"not" are lazy.
_BINARY: dict[str, Binary] = {
    "in": lambda x, y: x in y,
    "not in": lambda x, y: x not in y,
    "is": lambda x, y: x is y,
    "is not": lambda x, y: x is not y,
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
}


def compile_condition(condition: Any) -> Resolver:
    """Return a function equal to `condition.eval` (an operator never raises, as Django's)."""
    if type(condition) is TemplateLiteral:
        value = cast(FilterExpression, condition.value)
        return compile_filter_expression(value, ignore_failures=True)
    op = getattr(condition, "id", None)
    if not isinstance(op, str) or type(condition) is not OPERATORS.get(op):
        return cast(Resolver, condition.eval)
    first = compile_condition(condition.first)
    if op == "not":
        return _not(first)
    second = compile_condition(condition.second)
    if op == "or":
        return _or(first, second)
    if op == "and":
        return _and(first, second)
    return _binary(_BINARY[op], first, second)


def _not(first: Resolver) -> Resolver:
    def evaluate(context: Context) -> Any:
        try:
            return not first(context)
        except Exception:
            return False

    return evaluate


def _or(first: Resolver, second: Resolver) -> Resolver:
    def evaluate(context: Context) -> Any:
        try:
            return first(context) or second(context)
        except Exception:
            return False

    return evaluate


def _and(first: Resolver, second: Resolver) -> Resolver:
    def evaluate(context: Context) -> Any:
        try:
            return first(context) and second(context)
        except Exception:
            return False

    return evaluate


def _binary(func: Binary, first: Resolver, second: Resolver) -> Resolver:
    def evaluate(context: Context) -> Any:
        try:
            return func(first(context), second(context))
        except Exception:
            return False

    return evaluate

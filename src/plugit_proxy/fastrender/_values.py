"""Variables and filter expressions resolved as Django resolves them, with fewer steps.

Every function here mirrors one of django.template.base's (`Variable._resolve_lookup`,
`FilterExpression.resolve`, `render_value_in_context`): the common case (a name found in a
context dict, a key of a plain dict, a str or SafeString to print) takes a short path, and
every other case runs the same steps as Django's, in the same order, or Django's own code.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from inspect import signature
from typing import Any, cast

from django.template.base import (
    FilterExpression,
    Variable,
    VariableDoesNotExist,
    render_value_in_context,
)
from django.template.base import logger as template_logger
from django.template.context import BaseContext, Context, ContextDict
from django.template.defaultfilters import floatformat as django_floatformat
from django.template.defaultfilters import truncatechars as django_truncatechars
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from ._filters import compile_floatformat, compile_truncatechars
from ._settings import setting

__all__ = ["Resolver", "compile_filter_expression", "compile_variable", "to_text"]

Resolver = Callable[[Context], Any]
_PLAIN_DICTS = (dict, ContextDict)


def compile_variable(var: Variable) -> Resolver:
    """Return a function equal to `var.resolve`."""
    if var.lookups is None:
        if var.translate or var.message_context:
            return var.resolve
        literal = var.literal
        return lambda context: literal
    if var.translate or var.message_context:
        return var.resolve
    bits = var.lookups
    first, last = bits[0], len(bits) - 1
    slow: Resolver = var._resolve_lookup  # type: ignore[attr-defined]

    def resolve(context: Context) -> Any:
        for values in reversed(context.dicts):
            if first in values:
                if type(values) not in _PLAIN_DICTS:
                    return slow(context)
                current = values[first]
                break
        else:
            return slow(context)  # Django raises VariableDoesNotExist its own way
        i = 0
        while True:
            if callable(current):
                return _go_on(context, current, bits, i)
            if i == last:
                return current
            i += 1
            if type(current) is dict and bits[i] in current:
                current = current[bits[i]]
            else:
                return _go_on(context, current, bits, i - 1)

    return resolve


def _go_on(context: Context, current: Any, bits: Sequence[str], i: int) -> Any:
    """Finish `Variable._resolve_lookup` from `current`, the value found for `bits[i]`."""
    bit = bits[i]
    try:
        current = _called(context, current)
        for bit in bits[i + 1 :]:  # `bit` names the failing lookup in the log, as Django's
            current = _called(context, _lookup(current, bit))
    except Exception as error:
        template_name = getattr(context, "template_name", None) or "unknown"
        template_logger.debug(
            "Exception while resolving variable '%s' in template '%s'.",
            bit,
            template_name,
            exc_info=True,
        )
        if getattr(error, "silent_variable_failure", False):
            return _invalid(context)
        raise
    return current


def _lookup(current: Any, bit: str) -> Any:
    """One step of a dotted lookup: key, then attribute, then index (Django's order)."""
    if type(current) is dict:
        if bit in current:
            return current[bit]
    else:
        try:
            if not hasattr(type(current), "__getitem__"):
                raise TypeError
            return current[bit]
        except (TypeError, AttributeError, KeyError, ValueError, IndexError):
            pass
    try:
        if isinstance(current, BaseContext) and getattr(type(current), bit):
            raise AttributeError
        return getattr(current, bit)
    except (TypeError, AttributeError):
        if not isinstance(current, BaseContext) and bit in dir(current):
            raise  # raised by a property: Django lets it through
        try:
            return current[int(bit)]
        except (IndexError, ValueError, KeyError, TypeError):
            raise VariableDoesNotExist("Failed lookup for key [%s] in %r", (bit, current)) from None


def _called(context: Context, current: Any) -> Any:
    """Call a callable value as a template does (no arguments, unless told not to)."""
    if not callable(current):
        return current
    if getattr(current, "do_not_call_in_templates", False):
        return current
    if getattr(current, "alters_data", False):
        return _invalid(context)
    try:
        return current()
    except TypeError:
        try:
            wanted = signature(current)
        except ValueError:
            return _invalid(context)
        try:
            wanted.bind()
        except TypeError:  # it needs arguments: an invalid call
            return _invalid(context)
        raise


def _invalid(context: Context) -> Any:
    """What Django prints for an invalid variable: the engine's `string_if_invalid`."""
    return context.template.engine.string_if_invalid  # type: ignore[union-attr]


Filter = tuple[Callable[..., Any], tuple[Resolver, ...], bool, bool, bool]


def compile_filter_expression(
    expression: FilterExpression, *, ignore_failures: bool = False
) -> Resolver:
    """Return a function equal to `expression.resolve(context, ignore_failures)`."""
    filters = tuple(_compile_filter(func, args) for func, args in expression.filters)
    if not expression.is_var:
        constant = expression.var
        if not filters:
            return lambda context: constant
        return lambda context: _apply(context, constant, filters)
    var = expression.var
    resolve = compile_variable(var)

    def resolved(context: Context) -> Any:
        try:
            value = resolve(context)
        except VariableDoesNotExist:
            if ignore_failures:
                value = None
            else:
                invalid = _invalid(context)
                if invalid:
                    return invalid % var if "%s" in invalid else invalid
                value = invalid
        if filters:
            return _apply(context, value, filters)
        return value

    return resolved


def _compile_filter(func: Callable[..., Any], args: list[tuple[bool, Any]]) -> Filter:
    """Fix what Django reads from a filter on every call: its flags and constant arguments."""
    own = _OWN_FILTERS.get(func)
    if own is not None:
        constants = _constants(args)
        fast = None if constants is None else own(constants)
        if fast is not None:
            return (fast, (), False, False, True)  # both are is_safe filters
    resolvers: list[Resolver] = []
    for lookup, arg in args:
        if lookup:
            resolvers.append(compile_variable(arg))
        else:
            # Django marks a filter's literal arguments safe.
            resolvers.append(_constant(mark_safe(arg)))  # noqa: S308
    return (
        func,
        tuple(resolvers),
        bool(getattr(func, "expects_localtime", False)),
        bool(getattr(func, "needs_autoescape", False)),
        bool(getattr(func, "is_safe", False)),
    )


# Django's filter -> the fast renderer's compiler of it for constant arguments (_filters).
_OWN_FILTERS: dict[Callable[..., Any], Callable[[tuple[Any, ...]], Callable[..., Any] | None]] = {
    django_floatformat: compile_floatformat,
    django_truncatechars: compile_truncatechars,
}


def _constants(args: list[tuple[bool, Any]]) -> tuple[Any, ...] | None:
    """A filter's arguments as Django passes them, if none is a variable; else None."""
    values = []
    for lookup, arg in args:
        if not lookup:
            values.append(mark_safe(arg))  # noqa: S308 (Django marks literal arguments safe)
        elif arg.lookups is None and not (arg.translate or arg.message_context):
            values.append(arg.literal)  # a number: what `arg.resolve` returns
        else:
            return None
    return tuple(values)


def _apply(context: Context, value: Any, filters: tuple[Filter, ...]) -> Any:
    """Run the filters over `value` as `FilterExpression.resolve` does."""
    for func, resolvers, localtime, autoescape, is_safe in filters:
        args = [resolve(context) for resolve in resolvers]
        if localtime:
            value = template_localtime(value, context.use_tz)
        if autoescape:
            result = func(value, *args, autoescape=context.autoescape)
        else:
            result = func(value, *args)
        # An is_safe filter keeps safe input safe (Django's rule).
        value = mark_safe(result) if is_safe and isinstance(value, SafeData) else result  # noqa: S308
    return value


def to_text(value: Any, context: Context) -> str:
    """Print a value as `render_value_in_context` does."""
    kind = type(value)
    if kind is str:
        return html.escape(value) if context.autoescape else cast(str, value)
    if kind is SafeString:
        return cast(str, value)
    if kind is int and not setting("USE_THOUSAND_SEPARATOR"):
        return str(value)  # what localize gives an int when no grouping applies
    return render_value_in_context(value, context)


def _constant(value: Any) -> Resolver:
    return lambda context: value

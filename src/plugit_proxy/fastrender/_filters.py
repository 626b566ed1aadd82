"""Faster equals of Django's hottest filters, used when their arguments are constants.

`truncatechars` builds a lazy `Truncator`, normalises the text to NFC and walks it character
by character to skip combining marks. ASCII text has no combining marks and is its own NFC,
so for a str of ASCII only the length decides; anything else goes to Django's filter.

`floatformat` spends most of its time on steps that do not depend on the value: parsing its
argument, and going through `formats.number_format` (language, three format look-ups, the
generic formatter). With a constant argument, the argument is parsed once at compile time;
a number (int, float, Decimal, or a str Decimal reads) is rounded with the very steps of
Django's filter, and printed with the active language's decimal separator. Anything else (no
finite Decimal, more than 200 digits, thousands grouping on) is left to Django's filter.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, getcontext
from typing import Any

from django.template.defaultfilters import floatformat as django_floatformat
from django.template.defaultfilters import truncatechars as django_truncatechars
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import add_truncation_text, calculate_truncate_chars_length

from ._settings import setting

__all__ = ["compile_floatformat", "compile_truncatechars"]

Filter = Callable[..., Any]
_NUMBERS = (int, float, Decimal, str)


def compile_floatformat(args: tuple[Any, ...]) -> Filter | None:
    """Return `lambda value: floatformat(value, *args)` for constant `args`, or None."""
    if not args:
        arg: Any = -1
    elif len(args) == 1:
        arg = args[0]
    else:
        return None
    force_grouping, use_l10n = False, True
    try:
        if isinstance(arg, str):  # Django's own reading of the suffixes
            if arg[-2:] in {"gu", "ug"}:
                force_grouping, use_l10n = True, False
                arg = arg[:-2] or -1
            elif arg[-1] == "g":
                force_grouping = True
                arg = arg[:-1] or -1
            elif arg[-1] == "u":
                use_l10n = False
                arg = arg[:-1] or -1
        places = int(arg)
    except (ValueError, IndexError, TypeError):
        return None  # Django's filter says what happens (it returns the input, or raises)
    original = args
    exp = Decimal(1).scaleb(-abs(places))

    def floatformat(value: Any) -> Any:
        kind = type(value)
        if kind not in _NUMBERS or kind is bool:
            return django_floatformat(value, *original)
        if force_grouping or (use_l10n and setting("USE_THOUSAND_SEPARATOR")):
            return django_floatformat(value, *original)  # grouped digits: Django's formatter
        try:
            number = Decimal(value if kind is str else str(value))
        except InvalidOperation:
            return django_floatformat(value, *original)
        _, digits, exponent = number.as_tuple()
        if type(exponent) is not int or len(digits) + abs(exponent) > 200:
            return django_floatformat(value, *original)  # not finite, or too long
        fraction = int(number) - number
        if not fraction and places <= 0:
            return SafeString(str(int(number)))  # Django's "%d" of it
        # Django's precision, high enough for the quantize never to fail (its #15789).
        units = len(digits) + (-exponent if fraction else exponent)
        precision = max(getcontext().prec, abs(places) + units + 1)
        context = _CONTEXTS.get(precision) or _context(precision)
        rounded = number.quantize(exp, ROUND_HALF_UP, context)
        text = f"{rounded:f}"
        if not rounded and text[0] == "-":
            text = text[1:]  # Django prints no sign on a zero
        if places:
            whole, fraction_digits = text.split(".")
            separator = get_format("DECIMAL_SEPARATOR", None, use_l10n=use_l10n)
            text = whole + separator + fraction_digits
        return SafeString(text)

    return floatformat


_CONTEXTS: dict[int, Context] = {}


def _context(precision: int) -> Context:
    """A decimal context of that precision (kept: only quantize's unused flags change in it)."""
    if len(_CONTEXTS) > 256:
        _CONTEXTS.clear()
    context = _CONTEXTS[precision] = Context(prec=precision)
    return context


def compile_truncatechars(args: tuple[Any, ...]) -> Filter | None:
    """Return `lambda value: truncatechars(value, *args)` for constant `args`, or None."""
    if len(args) != 1:
        return None
    try:
        length = int(args[0])
    except (ValueError, TypeError):
        return None  # Django's filter says what happens (it returns the text, or raises)
    original = args

    def truncatechars(value: Any) -> Any:
        kind = type(value)
        # str() gives a str or SafeString back as it is: Django's stringfilter step.
        if (kind is not str and kind is not SafeString) or not value.isascii():
            return django_truncatechars(value, *original)
        if length <= 0:
            result = ""
        elif len(value) <= length:
            result = value
        else:  # the ending (translated) counts in the length, as in Truncator.chars
            kept = calculate_truncate_chars_length(length, None)
            result = add_truncation_text(value[:kept], None)
        # stringfilter: a safe text gives a safe result.
        return mark_safe(result) if kind is SafeString else result  # noqa: S308

    return truncatechars

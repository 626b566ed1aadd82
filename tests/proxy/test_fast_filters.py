"""The fast renderer's own filters return exactly what Django's filters return."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.template import Context, Engine
from django.template.base import FilterExpression
from django.template.defaultfilters import floatformat, truncatechars
from django.test.utils import override_settings
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugit_proxy.fastrender import compile_template
from plugit_proxy.fastrender._filters import compile_floatformat, compile_truncatechars
from plugit_proxy.fastrender._values import _compile_filter

ARGS: tuple[str, ...] = (
    "",
    "2",
    "-2",
    "0",
    "-0",
    "3",
    "-3",
    "1",
    "-1",
    "5",
    "g",
    "u",
    "2g",
    "2u",
    "-2g",
    "2gu",
)
ARGS += ("-2ug", "0u", "x", "2.5", "gu", " 2")
NUMBER_ARGS = (2, -2, 0, 3, -1, 2.5)  # `floatformat:2` passes the number itself
EDGES: tuple[Any, ...] = (
    0,
    -0.0,
    0.5,
    -0.5,
    1.005,
    2.675,
    -2.5,
    34.26,
    34.232,
    1e-7,
    -1e-10,
    1e21,
    10**30,
)
EDGES += (Decimal("-0.000"), Decimal("1E+3"), Decimal("12.3456"), Decimal("NaN"), Decimal("-Inf"))
EDGES += (float("inf"), float("nan"), "12.5", "-0.004", " 3.14159 ", "1e5", "abc", "", "1_000")
EDGES += (True, None, [1], Decimal("9" * 250), 123456789.125, -6666.6666)
SETTINGS: tuple[dict[str, Any], ...] = (
    {},
    {"LANGUAGE_CODE": "de"},  # "," as the decimal separator
    {"USE_THOUSAND_SEPARATOR": True},
    {"LANGUAGE_CODE": "fr", "USE_THOUSAND_SEPARATOR": True},
)

numbers = st.one_of(
    st.sampled_from(EDGES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e7, max_value=1e7).map(lambda f: round(f, 3)),
    st.integers(-(10**12), 10**12),
    st.decimals(places=4, min_value=-(10**9), max_value=10**9),
    st.decimals(),
    st.decimals(places=2, min_value=-1000, max_value=1000).map(str),
    st.text(alphabet="0123456789.-e ", max_size=8),
)


def outcome(func: Any, *args: Any) -> tuple[str, Any, type]:
    try:
        result = func(*args)
    except Exception as error:
        return "error", repr(error), type(error)
    return "ok", result, type(result)


@settings(
    max_examples=3000, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    value=numbers,
    arg=st.sampled_from((None, *ARGS, *NUMBER_ARGS)),
    chosen=st.sampled_from(SETTINGS),
)
def test_floatformat_is_djangos(value: Any, arg: Any, chosen: dict[str, Any]) -> None:
    args = () if arg is None else (mark_safe(arg) if isinstance(arg, str) else arg,)
    fast = compile_floatformat(args)
    with override_settings(**chosen):
        expected = outcome(floatformat, value, *args)
        if fast is None:  # left to Django's filter
            return
        assert outcome(fast, value) == expected


@pytest.mark.parametrize("arg", ["2", "-2", "0", "2g", "2u", "-3u"])
def test_constant_arguments_get_the_fast_filter(arg: str) -> None:
    fast = compile_floatformat((mark_safe(arg),))
    assert fast is not None
    assert type(fast(-0.001)) is SafeString


@pytest.mark.parametrize("arg", ["x", "2.5", ""])
def test_unreadable_arguments_are_left_to_django(arg: str) -> None:
    assert compile_floatformat((mark_safe(arg),)) is None


def test_templates_with_floatformat_render_as_django() -> None:
    engine = Engine()
    source = (
        '{{ f|floatformat:2 }} {{ f|floatformat:"-3" }} {{ f|floatformat }} {{ f|floatformat:n }}'
        ' {{ f|floatformat:"2g" }} {{ f|floatformat:-2 }} {{ f|floatformat:0 }}'
        ' {{ f|floatformat:"0u" }} {{ s|floatformat:1 }}'
    )
    template = engine.from_string(source)
    compiled = compile_template(template)
    assert compiled is not None
    for value in (1234.5678, -0.004, Decimal("66666.666"), 7, "x", None):
        for chosen in SETTINGS:
            with override_settings(**chosen):
                data = {"f": value, "n": 3, "s": "2.25"}
                expected = template.render(Context(data))
                assert compiled.render(template, Context(data)) == expected


def filter_expression(expression: str) -> FilterExpression:
    """How Django parses `{{ expression }}`."""
    node = Engine().from_string(f"{{{{ {expression} }}}}").nodelist[0]
    return node.filter_expression  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("expression", ["f|floatformat:2", 'f|floatformat:"-2u"', "f|floatformat"])
def test_constant_floatformat_is_compiled_to_the_fast_filter(expression: str) -> None:
    parsed = filter_expression(expression)
    ((func, args),) = parsed.filters
    compiled = _compile_filter(func, args)
    assert compiled[0] is not floatformat
    assert compiled[1] == ()


def test_floatformat_with_a_variable_argument_stays_djangos() -> None:
    parsed = filter_expression("f|floatformat:n")
    ((func, args),) = parsed.filters
    assert _compile_filter(func, args)[0] is floatformat


# -- truncatechars ----------------------------------------------------------------------------
TEXT_EDGES: tuple[Any, ...] = (
    "",
    "a",
    "x" * 19,
    "x" * 20,
    "x" * 21,
    "Item 12 with a longer name",
    "e\u0301" * 12,  # combining acute accents: not counted
    "caf\u00e9 au lait, bien chaud",
    "\u0301starts combining",
    "na\u00efve \U0001f600 emoji text here",
    "trailing…",
    "x" * 17 + "…",
    mark_safe("<b>safe &amp; long enough text</b>"),
    mark_safe("short"),
    mark_safe("caf\u00e9 " * 5),
    gettext_lazy("Page not found"),
    12345678901234567890,
    3.5,
    None,
    ["a", "list"],
    Decimal("1.50"),
)
TRUNCATE_ARGS: tuple[Any, ...] = (20, 0, -1, 1, 2, 3, 19, 21, 2.5, "20", "x", " 5", "")
# Endings of 1 ("…"), 2 (he: "\u202e…"), 3 ("..."), 4 (" ...") characters; pt-br: a leading space.
LANGUAGES = ("en", "de", "he", "ckb", "ms", "pt-br")

texts = st.one_of(
    st.sampled_from(TEXT_EDGES),
    st.text(max_size=30),
    st.text(alphabet="ab \u0301\u0300\u00e9", max_size=30),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=30),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=30).map(mark_safe),
)


@settings(
    max_examples=3000, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    value=texts,
    arg=st.one_of(st.sampled_from(TRUNCATE_ARGS), st.integers(-3, 40)),
    language=st.sampled_from(LANGUAGES),
)
def test_truncatechars_is_djangos(value: Any, arg: Any, language: str) -> None:
    constant = mark_safe(arg) if isinstance(arg, str) else arg
    fast = compile_truncatechars((constant,))
    with override_settings(USE_I18N=True), translation.override(language):
        expected = outcome(truncatechars, value, constant)
        if fast is None:  # left to Django's filter
            assert not isinstance(arg, int)
            return
        assert outcome(fast, value) == expected


def test_truncatechars_takes_the_translated_ending() -> None:
    fast = compile_truncatechars((5,))
    assert fast is not None
    assert fast("abcdefgh") == truncatechars("abcdefgh", 5) == "abcd…"
    with override_settings(USE_I18N=True), translation.override("ms"):
        # Django's own answer is the reference: the Malay ending ("a ..."), unless an earlier
        # test left Django's translation catalogues in another state.
        assert fast("abcdefgh") == truncatechars("abcdefgh", 5)


def test_constant_truncatechars_is_compiled_to_the_fast_filter() -> None:
    ((func, args),) = filter_expression("s|truncatechars:20").filters
    compiled = _compile_filter(func, args)
    assert compiled[0] is not truncatechars
    ((func, args),) = filter_expression("s|truncatechars:n").filters
    assert _compile_filter(func, args)[0] is truncatechars


def test_templates_with_truncatechars_render_as_django() -> None:
    engine = Engine()
    source = (
        "{{ s|truncatechars:5 }}|{{ s|truncatechars:'12' }}|{{ s|truncatechars:n }}"
        "|{% autoescape off %}{{ s|truncatechars:3 }}{% endautoescape %}"
        "|{{ s|truncatechars:8|upper }}|{{ s|safe|truncatechars:6 }}"
    )
    template = engine.from_string(source)
    compiled = compile_template(template)
    assert compiled is not None
    for value in TEXT_EDGES:
        for language in LANGUAGES:
            with override_settings(USE_I18N=True), translation.override(language):
                data = {"s": value, "n": 4}
                expected = template.render(Context(data))
                assert compiled.render(template, Context(data)) == expected


def test_numbers_follow_a_changed_thousand_separator_setting() -> None:
    """The renderer keeps the settings it reads per value, and forgets them when one changes."""
    template = Engine().from_string("{{ n }} {{ f|floatformat:2 }}")
    compiled = compile_template(template)
    assert compiled is not None
    data = {"n": 1234567, "f": 1234.5}
    for chosen in ({}, {"USE_THOUSAND_SEPARATOR": True}, {}, SETTINGS[3]):
        with override_settings(**chosen):
            expected = template.render(Context(data))
            assert compiled.render(template, Context(data)) == expected
    assert compiled.render(template, Context(data)) == "1234567 1234.50"

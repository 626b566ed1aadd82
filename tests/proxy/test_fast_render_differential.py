"""The fast renderer prints exactly what Django prints: the corpus, the pages, generated templates.

Each case renders one parsed template twice, with Django (`template.render`) and with its
compiled closures (`FastTemplate.render`), in fresh contexts built alike, and compares the
output, or the error when Django fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template
from django.utils.safestring import mark_safe
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from plugit_proxy.config import LAYOUT_LEGACY, LAYOUT_MODERN
from plugit_proxy.fastrender import compile_template
from plugit_proxy.rendering import Rendered, Renderer, TemplateRenderError
from plugit_proxy.tagcontext import normalise_route

from .render_corpus import (
    CONTEXTS,
    Orga,
    Person,
    full_context,
    own_template_names,
    service_templates,
)

LAYOUTS = (LAYOUT_MODERN, LAYOUT_LEGACY)
SERVICE_TEMPLATES = dict(service_templates())
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
REFERENCE = Renderer(fast=False)


def outcome(render: Callable[[], str]) -> tuple[str, str]:
    """What a render gives: its text, or its error (type and message, addresses left out)."""
    try:
        return "ok", str(render())
    except Exception as error:
        return type(error).__name__, ADDRESS.sub("", repr(error))


def assert_same(template: Template, make_context: Callable[[], Mapping[str, Any]]) -> str:
    """Render with Django and with the closures; the outcomes must be the same."""
    fast = compile_template(template)
    assert fast is not None
    expected = outcome(lambda: template.render(Context(dict(make_context()))))
    got = outcome(lambda: fast.render(template, Context(dict(make_context()))))
    assert got == expected
    return expected[0]


@pytest.mark.parametrize("context_name", sorted(CONTEXTS))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SERVICE_TEMPLATES))
def test_service_templates_render_as_django(name: str, layout: str, context_name: str) -> None:
    template = REFERENCE.compile(None, SERVICE_TEMPLATES[name], name, layout)
    assert_same(template, CONTEXTS[context_name])


@pytest.mark.parametrize("context_name", sorted(CONTEXTS))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", own_template_names())
def test_own_templates_render_as_django(name: str, layout: str, context_name: str) -> None:
    template = REFERENCE.engines[layout].get_template(name)
    assert_same(template, CONTEXTS[context_name])


def test_the_anchor_page_leaves_only_slots_and_csrf_to_django() -> None:
    renderer = Renderer()
    source = SERVICE_TEMPLATES["bench/fixtures/page.html"]
    fast = renderer.fast_form(renderer.compile(("svc", "tag"), source, "anchor"))
    assert fast is not None
    assert fast.compiler.fallbacks == 3  # {% plugit_slot %} twice (the layout), {% csrf_token %}
    assert Renderer(fast=False).fast_form(renderer.compile(None, source, "anchor")) is None


# -- whole pages through the Renderer: includes, users, the side block, errors ------------------


async def render_page(
    renderer: Renderer, name: str, data: Mapping[str, Any], side: str | None
) -> Rendered:
    """Render a corpus page as the pipeline does, its includes and users fetched from memory."""
    template = renderer.compile(None, SERVICE_TEMPLATES[name], name)
    folder = name.rsplit("/", 1)[0]

    async def fetch_includes(routes: set[str]) -> dict[str, Template | None]:
        found: dict[str, Template | None] = {}
        for route in routes:
            source = SERVICE_TEMPLATES.get(f"{folder}{normalise_route(route)}.html")
            found[route] = None if source is None else renderer.compile(None, source, route)
        return found

    async def fetch_users(keys: set[str]) -> dict[str, Mapping[str, Any] | None]:
        return {
            key: ({"username": f"user<{key}>", "id": key} if key != "12345" else None)
            for key in keys
        }

    return await renderer.render(
        template, data, fetch_includes=fetch_includes, fetch_users=fetch_users, side_block=side
    )


@pytest.mark.parametrize("side", [None, "menubar", "content"])
@pytest.mark.parametrize("name", sorted(SERVICE_TEMPLATES))
async def test_pages_render_as_django(name: str, side: str | None) -> None:
    renderer = Renderer()
    for make_context in CONTEXTS.values():
        expected = await page_outcome(REFERENCE, name, make_context(), side)
        assert await page_outcome(renderer, name, make_context(), side) == expected


async def page_outcome(
    renderer: Renderer, name: str, data: Mapping[str, Any], side: str | None
) -> Rendered | tuple[str, str]:
    """The rendered page, or its error (Django warns of `csrf_token` = "NOTPROVIDED", say)."""
    try:
        return await render_page(renderer, name, data, side)
    except TemplateRenderError as error:
        return "error", ADDRESS.sub("", str(error))


async def test_render_errors_are_djangos() -> None:
    source = '{% extends "plugIt/base.html" %}{% block content %}{{ user.broken }}{% endblock %}'
    SERVICE_TEMPLATES["tests/proxy/fails.html"] = source
    try:
        failures = []
        for renderer in (REFERENCE, Renderer()):
            with pytest.raises(TemplateRenderError) as caught:
                await render_page(renderer, "tests/proxy/fails.html", full_context(), None)
            failures.append(str(caught.value))
    finally:
        del SERVICE_TEMPLATES["tests/proxy/fails.html"]
    assert failures[0] == failures[1]
    assert "fails.html failed: AttributeError('a property that fails')" in failures[0]


# -- generated templates ----------------------------------------------------------------------

PARENTS = {
    "parent.html": "<head>{% block title %}T{% endblock %}</head>"
    "{% block a %}A{{ s }}{% endblock %}"
    "<main>{% block b %}B{% block c %}C{{ n }}{% endblock %}{% endblock %}</main>{% csrf_token %}",
    "mid.html": '{% extends "parent.html" %}{% block a %}mid[{{ block.super }}]{% endblock %}'
    "{% block c %}{{ block.super }}+mid{% endblock %}",
}
ENGINE = Engine(
    loaders=[
        (
            "django.template.loaders.cached.Loader",
            [("django.template.loaders.locmem.Loader", PARENTS)],
        )
    ],
    libraries={"plugit_tags": "plugit_proxy.templatetags.plugit_tags"},
)
NAMES = (
    "s",
    "html",
    "safe",
    "n",
    "f",
    "dec",
    "none",
    "t",
    "lst",
    "d",
    "obj",
    "missing",
    "when",
    "day",
    "pairs",
)
LOOKUPS: tuple[str, ...] = (
    "",
    "",
    "",
    ".0",
    ".1",
    ".name",
    ".upper",
    ".items",
    ".pk",
    ".full_name",
    ".greet",
    ".delete",
)
LOOKUPS += (".broken", ".label", ".missing", ".x.y", ".counter", ".counter0", ".revcounter")
LOOKUPS += (".revcounter0", ".first", ".last", ".parentloop", ".parentloop.counter")
FILTERS = (
    '|default:"<d>"',
    "|default:s",
    "|length",
    "|upper",
    "|lower",
    "|escape",
    "|safe",
    "|pluralize",
    '|yesno:"yes,no,maybe"',
    "|floatformat:2",
    "|floatformat",
    '|floatformat:"-3"',
    '|floatformat:"2g"',
    '|floatformat:"-2u"',
    "|floatformat:0",
    "|floatformat:n",
    "|add:1",
    "|add:n",
    "|first",
    "|last",
    "|linebreaksbr",
    "|urlencode",
    "|truncatechars:5",
    '|slice:":2"',
    '|join:", "',
    "|title",
    '|date:"Y-m-d H:i"',
    "|striptags",
    '|cut:" "',
    '|default_if_none:"-"',
    "|capfirst",
    '|stringformat:"s"',
    "|force_escape",
    "|wordcount",
    "|escapejs",
    "|linebreaks",
    '|dictsort:"name"',
    "|divisibleby:2",
    "|make_list",
    "|filesizeformat",
    "|url_target_blank",
    "|safeseq",
    "|iriencode",
)
TEXTS = ("x", " ", "<p>", "&amp;", "\n", "é", "}", "{ ")
OPERATORS = ("==", "!=", "<", ">", "<=", ">=", "in", "not in", "is", "is not")
LITERALS = ("1", '"x"', "None", "True", "0", "2.5")

plain_names = st.sampled_from((*NAMES, "forloop", "block"))
variables = st.one_of(
    plain_names,
    st.builds(lambda name, lookup: name + lookup, plain_names, st.sampled_from(LOOKUPS)),
)
expressions = st.one_of(
    variables,
    st.builds(
        lambda var, filters: var + "".join(filters),
        variables,
        st.lists(st.sampled_from(FILTERS), max_size=2),
    ),
)
operands = st.one_of(expressions, st.sampled_from(LITERALS))
conditions = st.recursive(
    operands,
    lambda inner: st.one_of(
        st.builds(lambda c: f"not {c}", inner),
        st.builds(lambda a, op, b: f"{a} {op} {b}", operands, st.sampled_from(OPERATORS), operands),
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(("and", "or")), inner),
    ),
    max_leaves=4,
)


def _tags(body: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda c, x, y: f"{{% if {c} %}}{x}{{% else %}}{y}{{% endif %}}", conditions, body, body
        ),
        st.builds(
            lambda c, d, x: f"{{% if {c} %}}{x}{{% elif {d} %}}!{{% endif %}}",
            conditions,
            conditions,
            body,
        ),
        st.builds(
            lambda v, r, x, y: (
                f"{{% for it in {v}{r} %}}{x}{{{{ forloop.counter }}}}"
                f"{{% empty %}}{y}{{% endfor %}}"
            ),
            expressions,
            st.sampled_from(("", " reversed")),
            body,
            body,
        ),
        st.builds(
            lambda x: f"{{% for k, v in pairs %}}{{{{ k }}}}={{{{ v }}}}{x}{{% endfor %}}", body
        ),
        st.builds(
            lambda e, x: f"{{% with w={e} %}}{{{{ w }}}}{x}{{% endwith %}}", expressions, body
        ),
        st.builds(
            lambda m, x: f"{{% autoescape {m} %}}{x}{{% endautoescape %}}",
            st.sampled_from(("on", "off")),
            body,
        ),
        st.builds(lambda x: f"{{% spaceless %}} <b> {x} </b> {{% endspaceless %}}", body),
        st.builds(lambda x: f"{{% filter upper %}}{x}{{% endfilter %}}", body),
        st.builds(lambda x: f"{{% ifchanged %}}{x}{{% endifchanged %}}", body),
    )


simple_nodes = st.one_of(
    st.sampled_from(TEXTS),
    st.builds(lambda e: f"{{{{ {e} }}}}", expressions),
    st.sampled_from(
        (
            "{% csrf_token %}",
            '{% cycle "a" "<b>" s %}',
            '{% cycle "x" n as cy silent %}{{ cy }}',
            "{% firstof none missing s %}",
            "{% widthratio n 10 100 %}",
            "{# note #}",
            "{% comment %}gone{% endcomment %}",
            "{% templatetag openblock %}",
            "{% plugitGetUser n as u %}{{ u.username }}",
            "{% plugitInclude 'part' %}",
        )
    ),
)
bodies = st.recursive(
    st.lists(simple_nodes, max_size=4).map("".join),
    lambda inner: st.lists(st.one_of(simple_nodes, _tags(inner)), max_size=4).map("".join),
    max_leaves=12,
)
blocks = st.dictionaries(
    st.sampled_from(("title", "a", "b", "c")), st.tuples(st.booleans(), bodies), max_size=4
)


@st.composite
def sources(draw: st.DrawFn) -> str:
    """A template: a plain body, or a child of parent.html or mid.html filling blocks."""
    parent = draw(st.sampled_from((None, "parent.html", "mid.html")))
    if parent is None:
        return "{% load plugit_tags %}" + draw(bodies)
    filled = draw(blocks)
    parts = [f'{{% extends "{parent}" %}}{{% load plugit_tags %}}']
    for name, (with_super, body) in filled.items():
        parts.append(
            f"{{% block {name} %}}{'{{ block.super }}' if with_super else ''}{body}{{% endblock %}}"
        )
    return "".join(parts)


scalars = st.one_of(
    st.integers(-2, 3),
    st.sampled_from(("x", "1", "2.5", "")),
    st.text(alphabet="ab <>&\"'é\n", max_size=6),
    st.text(alphabet="ab<>&", max_size=4).map(mark_safe),
    st.integers(-1000, 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
    ),
    st.none(),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.just(__import__("datetime").UTC)),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(
        st.sampled_from(("name", "x", "0", "pk", "items", "upper")), scalars, max_size=3
    ),
    st.builds(Person, st.text(alphabet="ab<&", max_size=4), st.integers(0, 9)),
    st.builds(Orga, st.integers(0, 9), st.text(alphabet="ab<", max_size=3), st.just("c")),
)
contexts = st.fixed_dictionaries(
    {"s": st.text(alphabet="ab<>&\"'", min_size=1, max_size=5), "n": st.integers(-2, 12)},
    optional={name: values for name in NAMES if name not in {"s", "n", "missing"}},
).map(
    lambda found: (
        found
        | {
            "pairs": found.get("pairs")
            if isinstance(found.get("pairs"), list)
            else [("a", 1), ("b", "<2>")]
        }
        | {"csrf_token": "tok<en>"}
    )
)


@settings(
    max_examples=600, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(source=sources(), data=contexts)
def test_generated_templates_render_as_django(source: str, data: dict[str, Any]) -> None:
    try:
        template = Template(source, engine=ENGINE)
    except TemplateSyntaxError:
        assume(False)
        raise
    includes = {"/part": Template("<i>{{ s }}</i>{{ block.super }}", engine=ENGINE)}
    event(
        assert_same(
            template,
            lambda: (
                data | {"_plugit_includes": includes, "_plugit_users": {"7": {"username": "<u>"}}}
            ),
        )
    )

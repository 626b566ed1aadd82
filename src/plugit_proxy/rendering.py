"""Service templates: compiled once per process, rendered with the proxy's engine.

Service templates are Django template language and may extend the proxy's `plugIt/base.html`.
Compiled templates are kept in an LRU keyed by (service, template tag), so a page in steady
state costs no parsing; a new tag is a new key. Each is also compiled once more, to closures
(plugit_proxy.fastrender), which render it as Django does in about half the time. Rendering is
synchronous CPU work; what the proxy's tags need from services is fetched before (and between)
render passes.
"""

from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.backends.django import get_installed_libraries
from django.template.base import NodeList, Origin, Template
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode

from plugit.exceptions import PlugItError

from .config import LAYOUT_LEGACY, LAYOUT_MODERN
from .fastrender import FastTemplate, compile_template
from .tagcontext import INCLUDES_KEY, MISSING_KEY, SLOT_MARKER, USERS_KEY, Missing
from .templatedebug import compile_location, render_location
from .templatetags.plugit_tags import PlugitIncludeNode

__all__ = [
    "IncludeFetcher",
    "Rendered",
    "Renderer",
    "TemplateCompileError",
    "TemplateRenderError",
    "UserFetcher",
    "apply_slots",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
# The legacy layout's own plugIt/*.html, found before the modern ones they replace.
LEGACY_TEMPLATES_DIR = TEMPLATES_DIR / "legacy"
OWN_TEMPLATES = (
    "plugIt/_page.html",
    "plugIt/base.html",
    "plugIt/error.html",
    "plugIt/header.html",
    "plugIt/menu.html",
)
MAX_RENDER_PASSES = 4

IncludeFetcher = Callable[[set[str]], Awaitable[Mapping[str, Template | None]]]
UserFetcher = Callable[[set[str]], Awaitable[Mapping[str, Mapping[str, Any] | None]]]


logger = logging.getLogger("plugit_proxy.rendering")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered page, and its side block rendered on its own ("" when there is none)."""

    body: str
    side: str = ""


class TemplateCompileError(PlugItError):
    """A service template does not compile; the message says where, `detail` shows the lines."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class TemplateRenderError(PlugItError):
    """A service template failed while rendering; `detail` shows the lines (debug engines)."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def build_engine(*, debug: bool = False, layout: str = LAYOUT_MODERN) -> Engine:
    """Make the engine of service templates: a layout's templates and the tag libraries."""
    dirs = [str(TEMPLATES_DIR)]
    if layout == LAYOUT_LEGACY:
        dirs.insert(0, str(LEGACY_TEMPLATES_DIR))
    libraries = dict(get_installed_libraries())
    libraries.setdefault("staticfiles", "django.templatetags.static")  # pre-Django-3 name
    return Engine(
        dirs=dirs,
        app_dirs=False,
        libraries=libraries,
        autoescape=True,
        debug=debug,
        loaders=[
            ("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])
        ],
    )


class Renderer:
    """Compiles, caches and renders templates; one per process, one engine per layout."""

    def __init__(
        self, engine: Engine | None = None, *, max_templates: int = 512, fast: bool | None = None
    ) -> None:
        self.engine = engine or build_engine()
        # False: Django renders every node (the differential test's reference, a what-if in
        # bench/). None: the Django setting PLUGIT_FAST_RENDER, on when unset.
        self.fast = getattr(settings, "PLUGIT_FAST_RENDER", True) if fast is None else fast
        self.engines = {
            LAYOUT_MODERN: self.engine,
            LAYOUT_LEGACY: build_engine(layout=LAYOUT_LEGACY),
        }
        self._debug_engines: dict[str, Engine] = {}  # made on the first debug compile
        self.max_templates = max_templates
        self._compiled: OrderedDict[tuple[str, str, str], Template] = OrderedDict()
        self._includes: weakref.WeakKeyDictionary[Template, frozenset[str]] = (
            weakref.WeakKeyDictionary()
        )
        # The compiled form lives as long as its template (the LRU's entry) and no longer.
        self._fast: weakref.WeakKeyDictionary[Template, FastTemplate | None] = (
            weakref.WeakKeyDictionary()
        )

    def warm_up(self) -> None:
        """Load the proxy's own templates now rather than on the first request."""
        for engine in self.engines.values():
            for name in OWN_TEMPLATES:
                engine.get_template(name)

    def cached(self, key: tuple[str, str], layout: str = LAYOUT_MODERN) -> Template | None:
        """Return a compiled template of `layout` from the LRU."""
        full = (layout, *key)
        compiled = self._compiled.get(full)
        if compiled is not None:
            self._compiled.move_to_end(full)
        return compiled

    def compile(
        self,
        key: tuple[str, str] | None,
        source: str,
        name: str,
        layout: str = LAYOUT_MODERN,
        *,
        debug: bool = False,
    ) -> Template:
        """Compile `source` for `layout` (once per key); keep it in the LRU unless `key` is None.

        `debug` (development mode) compiles with Django's debug engine, which places an error
        met while rendering on its line (templatedebug.py); it renders the same page, slower.
        """
        compiled = None if key is None else self.cached(key, layout)
        if compiled is not None:
            return compiled
        engine = self._debug_engine(layout) if debug else self.engines[layout]
        try:
            compiled = Template(source, origin=Origin(name), name=name, engine=engine)
        except TemplateSyntaxError as error:
            raise compile_error(name, source, error) from None
        self.fast_form(compiled)
        if key is None:
            return compiled
        self._compiled[(layout, *key)] = compiled
        while len(self._compiled) > self.max_templates:
            self._compiled.popitem(last=False)
        return compiled

    def _debug_engine(self, layout: str) -> Engine:
        engine = self._debug_engines.get(layout)
        if engine is None:
            engine = self._debug_engines[layout] = build_engine(debug=True, layout=layout)
        return engine

    def include_routes(self, template: Template) -> frozenset[str]:
        """List the routes `template` includes (its node tree is walked once, not per page)."""
        routes = self._includes.get(template)
        if routes is None:
            routes = self._includes[template] = frozenset(include_routes(template))
        return routes

    def fast_form(self, template: Template) -> FastTemplate | None:
        """Return the closures of `template` (compiled once), or None when Django renders it."""
        if not self.fast:
            return None
        try:
            return self._fast[template]
        except KeyError:
            fast = self._fast[template] = compile_template(template)
            return fast

    def render_own(self, name: str, context: Mapping[str, Any], layout: str = LAYOUT_MODERN) -> str:
        """Render one of the proxy's templates (layout parts, error pages) in `layout`."""
        return str(self.engines[layout].get_template(name).render(Context(dict(context))))

    async def render(
        self,
        template: Template,
        data: Mapping[str, Any],
        *,
        fetch_includes: IncludeFetcher,
        fetch_users: UserFetcher,
        side_block: str | None = None,
    ) -> Rendered:
        """Render `template`, and its own block `side_block` apart; fetch what tags need first."""
        side = find_block(template, side_block) if side_block else None
        fast = self.fast_form(template)
        return await self._passes(
            lambda context: _render_pass(template, fast, context, side),
            data,
            set(self.include_routes(template)),
            fetch_includes,
            fetch_users,
        )

    async def render_side(
        self,
        template: Template,
        side_block: str,
        data: Mapping[str, Any],
        *,
        fetch_includes: IncludeFetcher,
        fetch_users: UserFetcher,
    ) -> str:
        """Render only `template`'s own block `side_block` ("" without one): an error's menu.

        Only what the block itself includes is fetched; a failure raises TemplateRenderError.
        """
        side = find_block(template, side_block)
        if side is None:
            return ""
        fast = self.fast_form(template)

        def one_pass(context: Context) -> Rendered:
            try:
                return Rendered(
                    _render_with_blocks(template, fast, context, {side_block: side}, side)
                )
            except Exception as error:
                raise render_error(template, error) from error

        rendered = await self._passes(one_pass, data, set(), fetch_includes, fetch_users)
        return rendered.body

    async def _passes(
        self,
        render_pass: Callable[[Context], Rendered],
        data: Mapping[str, Any],
        wanted_includes: set[str],
        fetch_includes: IncludeFetcher,
        fetch_users: UserFetcher,
    ) -> Rendered:
        """Render until the tags miss nothing (or MAX_RENDER_PASSES): fetch, render, repeat."""
        includes: dict[str, Template | None] = {}
        users: dict[str, Mapping[str, Any] | None] = {}
        wanted_users: set[str] = set()
        for _ in range(MAX_RENDER_PASSES):
            await _fetch(wanted_includes, includes, fetch_includes)
            await _fetch(wanted_users, users, fetch_users)
            for fetched in list(includes.values()):
                if fetched is not None:
                    wanted_includes |= self.include_routes(fetched) - includes.keys()
            if wanted_includes - includes.keys():
                continue
            missing = Missing()
            context = Context(
                {
                    **data,
                    INCLUDES_KEY: self._renderable(includes),
                    USERS_KEY: users,
                    MISSING_KEY: missing,
                }
            )
            output = render_pass(context)
            if not missing:
                return output
            wanted_includes = missing.includes - includes.keys()
            wanted_users = missing.users - users.keys()
            if not (wanted_includes or wanted_users):
                return output
        return output

    def _renderable(self, includes: Mapping[str, Template | None]) -> dict[str, Any]:
        """Give `plugitInclude` what it renders: each template, or its compiled form."""
        if not self.fast:
            return dict(includes)
        return {
            route: None if found is None else _Included.of(found, self.fast_form(found))
            for route, found in includes.items()
        }


@dataclass(frozen=True, slots=True)
class _Included:
    """An included template and its closures: `render(context)` as the template's own."""

    template: Template
    fast: FastTemplate

    @classmethod
    def of(cls, template: Template, fast: FastTemplate | None) -> Template | _Included:
        return template if fast is None else cls(template, fast)

    def render(self, context: Context) -> str:
        if context.template is not None and context.template.engine is not self.template.engine:
            return self.template.render(context)  # its parents are found with another engine
        return self.fast.render(self.template, context)


def _render_pass(
    template: Template, fast: FastTemplate | None, context: Context, side: BlockNode | None
) -> Rendered:
    """Render the page without its side block, then the side block alone."""
    try:
        if side is None:
            if fast is not None:
                return Rendered(str(fast.render(template, context)))
            return Rendered(str(template.render(context)))
        # The side block is shown once, beside the page: wherever the template or its layout
        # would print it, an empty block of that name takes its place.
        empty = {side.name: BlockNode(side.name, NodeList())}
        body = _render_with_blocks(template, fast, context, empty)
    except Exception as error:
        raise render_error(template, error) from error
    try:
        return Rendered(body, _render_with_blocks(template, fast, context, {side.name: side}, side))
    except Exception as error:  # a broken menu must not break the page
        logger.warning("block %s of template %s failed: %r", side.name, template.name, error)
        return Rendered(body)


def compile_error(name: str, source: str, error: TemplateSyntaxError) -> TemplateCompileError:
    """Name the template and the line that does not compile; `detail` shows the lines."""
    found = compile_location(source, error)
    if found is None:
        return TemplateCompileError(f"template {name} does not compile: {error}")
    line, lines = found
    return TemplateCompileError(
        f"template {name} does not compile (line {line}): {error}",
        detail=f"{name}, line {line}:\n{lines}",
    )


def render_error(template: Template, error: Exception) -> TemplateRenderError:
    """Name the template that failed; with a debug engine, `detail` shows where."""
    message = f"template {template.name} failed: {error!r}"
    found = render_location(error)
    if found is None:
        return TemplateRenderError(message)
    name, line, lines = found
    return TemplateRenderError(message, detail=f"{name}, line {line}:\n{lines}")


def _render_with_blocks(
    template: Template,
    fast: FastTemplate | None,
    context: Context,
    blocks: Mapping[str, BlockNode],
    node: BlockNode | None = None,
) -> str:
    """Render `template` (or only its `node`) with `blocks` taking precedence over its own."""
    if fast is not None:
        return fast.render_blocks(template, context, blocks, node)
    with context.render_context.push_state(template), context.bind_template(template):
        block_context = BlockContext()
        block_context.add_blocks(dict(blocks))
        context.render_context[BLOCK_CONTEXT_KEY] = block_context
        return str((node or template.nodelist).render(context))


async def _fetch(
    wanted: set[str],
    known: dict[str, Any],
    fetch: Callable[[set[str]], Awaitable[Mapping[str, Any]]],
) -> None:
    todo = wanted - known.keys()
    if todo:
        found = await fetch(todo)
        for key in todo:
            known[key] = found.get(key)


def include_routes(template: Template) -> set[str]:
    """List the routes a template includes with `plugitInclude`."""
    nodes = template.nodelist.get_nodes_by_type(PlugitIncludeNode)
    return {node.route for node in nodes if isinstance(node, PlugitIncludeNode)}


def find_block(template: Template, name: str) -> BlockNode | None:
    """Find the block `name` in a template (its own blocks, not its parent's)."""
    for node in template.nodelist.get_nodes_by_type(BlockNode):
        if isinstance(node, BlockNode) and node.name == name:
            return node
    return None


def apply_slots(body: str, slots: Mapping[str, str]) -> str:
    """Put the per-request parts of the layout into a rendered page."""
    for name, content in slots.items():
        marker = SLOT_MARKER.format(name)
        if marker in body:
            body = body.replace(marker, content, 1)
    return body

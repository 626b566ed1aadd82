"""Compile a template's nodes to closures that render as Django's nodes render.

Each known node type (matched by exact type, so a subclass is never mistaken for its base)
becomes a closure doing what its `render` does, with the variables and filters compiled
(see _values). Any other node is rendered by Django itself (`node.render_annotated`), in the
same real Context, so it sees exactly the state Django's own rendering would give it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import cycle
from typing import Any, cast

from django.template.base import (
    FilterExpression,
    Node,
    NodeList,
    Template,
    TextNode,
    VariableDoesNotExist,
    VariableNode,
)
from django.template.context import Context
from django.template.defaulttags import (
    AutoEscapeControlNode,
    CommentNode,
    CycleNode,
    ForNode,
    IfNode,
    LoadNode,
    SpacelessNode,
    WithNode,
)
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode, ExtendsNode
from django.utils.html import strip_spaces_between_tags
from django.utils.safestring import SafeString

from ._conditions import compile_condition
from ._values import compile_filter_expression, to_text

__all__ = ["Compiler", "Render"]

Render = Callable[[Context], str]
Part = str | Render


def _empty(context: Context) -> str:
    return ""


def _text_of(text: str) -> Render:
    return lambda context: text


def _django(node: Node) -> Render:
    """Leave a node to Django: what NodeList.render calls for it."""
    return cast(Render, node.render_annotated)


class Compiler:
    """Compiles the node lists of one template and its parents, and finds them when rendering."""

    def __init__(self, template: Template) -> None:
        # Parents are found at compile time as ExtendsNode finds them at render time: with the
        # engine of the template being rendered and the history of the templates already used.
        resolving = Context()
        resolving.template = template
        resolving.render_context.push()
        resolving.render_context.template = template
        self.resolving: Context | None = resolving
        # id(node list) -> (the node list, kept so that its id is never reused; its closure)
        self._nodelists: dict[int, tuple[NodeList, Render]] = {}
        self.fallbacks = 0  # nodes left to Django, for tests and curiosity

    def nodelist(self, nodelist: NodeList) -> Render:
        """Compile a node list (once) and remember it for the blocks that render it later."""
        known = self._nodelists.get(id(nodelist))
        if known is not None and known[0] is nodelist:
            return known[1]
        render = self._join([self.node(node) for node in nodelist])
        self._nodelists[id(nodelist)] = (nodelist, render)
        return render

    def lookup(self, nodelist: NodeList) -> Render:
        """Find a compiled node list while rendering (one never seen is compiled, not kept)."""
        known = self._nodelists.get(id(nodelist))
        if known is not None and known[0] is nodelist:
            return known[1]
        return self._join([self.node(node) for node in nodelist])

    @staticmethod
    def _join(parts: list[Part]) -> Render:
        merged: list[Part] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        if not merged:
            return _empty
        if len(merged) == 1:
            only = merged[0]
            return only if callable(only) else _text_of(only)
        funcs = [part if callable(part) else (lambda context, text=part: text) for part in merged]
        return lambda context: "".join([func(context) for func in funcs])

    def node(self, node: Node) -> Part:
        """Compile one node: its text, or a closure that renders it."""
        compile_node = _NODES.get(type(node))
        if compile_node is None:
            self.fallbacks += 1
            return _django(node)
        return compile_node(self, node)


def _text(compiler: Compiler, node: TextNode) -> Part:
    return node.s


def _nothing(compiler: Compiler, node: Node) -> Part:
    return ""


def _variable(compiler: Compiler, node: VariableNode) -> Part:
    resolve = compile_filter_expression(node.filter_expression)

    def render(context: Context) -> str:
        try:
            value = resolve(context)
        except UnicodeDecodeError:
            return ""
        return to_text(value, context)

    return render


def _if(compiler: Compiler, node: IfNode) -> Part:
    branches = [
        (None if condition is None else compile_condition(condition), compiler.nodelist(body))
        for condition, body in node.conditions_nodelists
    ]

    def render(context: Context) -> str:
        for condition, body in branches:
            if condition is None:
                return body(context)
            try:
                match = condition(context)
            except VariableDoesNotExist:
                match = None
            if match:
                return body(context)
        return ""

    return render


def _for(compiler: Compiler, node: ForNode) -> Part:
    sequence = compile_filter_expression(
        cast(FilterExpression, node.sequence), ignore_failures=True
    )
    body = compiler.nodelist(cast(NodeList, node.nodelist_loop))
    empty = compiler.nodelist(cast(NodeList, node.nodelist_empty))
    names = list(node.loopvars)
    reverse = node.is_reversed

    def render(context: Context) -> str:
        parentloop = context.get("forloop", {})
        with context.push():
            values = sequence(context)
            if values is None:
                values = []
            if not hasattr(values, "__len__"):
                values = list(values)
            count = len(values)
            if count < 1:
                return empty(context)
            if reverse:
                values = reversed(values)
            loop = context["forloop"] = {"parentloop": parentloop}
            out = [
                _loop_once(context, loop, i, count, item, names, body)
                for i, item in enumerate(values)
            ]
        return "".join(out)  # Django marks it safe; only the top-level result is a value

    return render


def _loop_once(
    context: Context,
    loop: dict[str, Any],
    i: int,
    count: int,
    item: Any,
    names: list[str],
    body: Render,
) -> str:
    """One pass of ForNode's loop: the counters, the loop variables, the body."""
    loop["counter0"] = i
    loop["counter"] = i + 1
    loop["revcounter"] = count - i
    loop["revcounter0"] = count - i - 1
    loop["first"] = i == 0
    loop["last"] = i == count - 1
    if len(names) == 1:
        context.dicts[-1][names[0]] = item
        return body(context)
    try:
        size = len(item)
    except TypeError:  # not an iterable
        size = 1
    if len(names) != size:
        raise ValueError(f"Need {len(names)} values to unpack in for loop; got {size}. ")
    context.update(dict(zip(names, item, strict=False)))
    text = body(context)
    context.pop()
    return text


def _with(compiler: Compiler, node: WithNode) -> Part:
    values = {name: compile_filter_expression(value) for name, value in node.extra_context.items()}
    body = compiler.nodelist(node.nodelist)

    def render(context: Context) -> str:
        resolved = {name: resolve(context) for name, resolve in values.items()}
        with context.push(**resolved):
            return body(context)

    return render


def _autoescape(compiler: Compiler, node: AutoEscapeControlNode) -> Part:
    setting = node.setting
    body = compiler.nodelist(node.nodelist)

    def render(context: Context) -> str:
        old = context.autoescape
        context.autoescape = setting
        output = body(context)
        context.autoescape = old
        return output

    return render


def _spaceless(compiler: Compiler, node: SpacelessNode) -> Part:
    body = compiler.nodelist(node.nodelist)
    return lambda context: strip_spaces_between_tags(body(context).strip())


def _cycle(compiler: Compiler, node: CycleNode) -> Part:
    values = {id(value): compile_filter_expression(value) for value in node.cyclevars}
    name, silent = node.variable_name, node.silent

    def render(context: Context) -> str:
        state = context.render_context
        if node not in state:  # the same state as Django's, so {% resetcycle %} still works
            state[node] = cycle(node.cyclevars)
        value = values[id(next(state[node]))](context)
        if name:
            context.set_upward(name, value)
        if silent:
            return ""
        return to_text(value, context)

    return render


class _Block(BlockNode):
    """The `block` of a block's context: a BlockNode whose render (so `block.super`) is compiled."""

    compiler: Compiler

    def render(self, context: Context) -> SafeString:
        return SafeString(render_block(self, context, self.compiler))


# What a template can see of its type (error messages name it) is Django's.
_Block.__name__ = _Block.__qualname__ = BlockNode.__name__


def render_block(node: BlockNode, context: Context, compiler: Compiler) -> str:
    """Render a block as `BlockNode.render` does: the deepest override first, then its parents."""
    block_context = context.render_context.get(BLOCK_CONTEXT_KEY)
    with context.push():
        if block_context is None:
            context["block"] = node
            return compiler.lookup(node.nodelist)(context)
        push = block = block_context.pop(node.name)
        if block is None:
            block = node
        current = _Block(block.name, block.nodelist)
        current.compiler = compiler
        current.context = context
        context["block"] = current
        result = compiler.lookup(block.nodelist)(context)
        if push is not None:
            block_context.push(node.name, push)
    return result


def _block(compiler: Compiler, node: BlockNode) -> Part:
    compiler.nodelist(node.nodelist)
    return lambda context: render_block(node, context, compiler)


def _extends(compiler: Compiler, node: ExtendsNode) -> Part:
    name = cast(FilterExpression, node.parent_name)
    if name.filters or name.is_var:  # a parent chosen per render: Django's own node
        compiler.fallbacks += 1
        return _django(node)
    try:
        if compiler.resolving is None:
            raise LookupError("no template to resolve the parent from")
        parent = node.get_parent(compiler.resolving)
    except Exception:  # it fails at render time, the same way
        compiler.fallbacks += 1
        return _django(node)
    body = compiler.nodelist(parent.nodelist)
    blocks = node.blocks
    root_blocks = _root_blocks(parent)
    for block in [*blocks.values(), *(root_blocks or {}).values()]:
        compiler.nodelist(block.nodelist)
    origin = node.origin

    def render(context: Context) -> str:
        state = context.render_context
        history = cast(list[Any], state.setdefault(ExtendsNode.context_key, [origin]))
        history.append(parent.origin)
        if BLOCK_CONTEXT_KEY not in state:
            state[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = state[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(blocks)
        if root_blocks is not None:
            block_context.add_blocks(root_blocks)
        initial = state.template
        state.template = parent
        try:
            return body(context)
        finally:
            state.template = initial

    return render


def _root_blocks(parent: Template) -> dict[str, BlockNode] | None:
    """The blocks of `parent` when it is the root of the chain (ExtendsNode.render's rule)."""
    for node in parent.nodelist:
        if not isinstance(node, TextNode):
            if isinstance(node, ExtendsNode):
                return None
            found = cast(list[BlockNode], parent.nodelist.get_nodes_by_type(BlockNode))
            return {block.name: block for block in found}
    return None


_NODES: dict[type[Node], Callable[[Compiler, Any], Part]] = {
    TextNode: _text,
    VariableNode: _variable,
    CommentNode: _nothing,
    LoadNode: _nothing,
    IfNode: _if,
    ForNode: _for,
    WithNode: _with,
    AutoEscapeControlNode: _autoescape,
    SpacelessNode: _spaceless,
    CycleNode: _cycle,
    BlockNode: _block,
    ExtendsNode: _extends,
}

"""A compiled template: renders as `Template.render` does, with compiled node lists."""

from __future__ import annotations

from collections.abc import Mapping

from django.template.base import Template
from django.template.context import Context
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode
from django.utils.safestring import SafeString

from ._nodes import Compiler, render_block

__all__ = ["FastTemplate", "compile_template"]


class FastTemplate:
    """The closures of one Django template (and its parents); holds no reference to it."""

    def __init__(self, template: Template) -> None:
        self.compiler = Compiler(template)
        self.body = self.compiler.nodelist(template.nodelist)
        self.compiler.resolving = None  # parents are found: let go of the template

    def render(self, template: Template, context: Context) -> SafeString:
        """Render `template` (the one compiled) as `template.render(context)` does."""
        state = context.render_context
        initial = state.template
        state.template = template
        state.push()
        try:
            if context.template is not None:
                return SafeString(self.body(context))
            with context.bind_template(template):
                context.template_name = template.name
                return SafeString(self.body(context))
        finally:
            state.template = initial
            state.pop()

    def render_blocks(
        self,
        template: Template,
        context: Context,
        blocks: Mapping[str, BlockNode],
        node: BlockNode | None = None,
    ) -> str:
        """Render `template` (or only its block `node`) with `blocks` before its own."""
        with context.render_context.push_state(template), context.bind_template(template):
            block_context = BlockContext()
            block_context.add_blocks(dict(blocks))
            context.render_context[BLOCK_CONTEXT_KEY] = block_context
            if node is None:
                return self.body(context)
            return render_block(node, context, self.compiler)


def compile_template(template: Template) -> FastTemplate | None:
    """Compile `template`, or None when only Django can render it the same way (debug)."""
    if template.engine.debug:  # Django annotates errors with their source lines
        return None
    return FastTemplate(template)

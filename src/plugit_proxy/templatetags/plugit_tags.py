"""Template tags the proxy offers to service templates: `{% load plugit_tags %}`.

Rendering is synchronous, so these tags never call a service: the renderer
(plugit_proxy.rendering) fetches what they need beforehand and puts it in the context; a tag
that finds its data missing records what it needs, and the renderer fetches it and renders again
(the keys and the record: plugit_proxy.tagcontext).
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeData, mark_safe

from ..tagcontext import INCLUDES_KEY, MISSING_KEY, SLOT_MARKER, USERS_KEY, normalise_route

register = template.Library()


class PlugitIncludeNode(template.Node):
    """Render another action's template with the current context."""

    def __init__(self, route: str) -> None:
        self.route = normalise_route(route)

    def render(self, context: Context) -> str:
        included: dict[str, Any] = context.get(INCLUDES_KEY) or {}
        if self.route not in included:
            missing = context.get(MISSING_KEY)
            if missing is not None:
                missing.includes.add(self.route)
            return ""
        target = included[self.route]
        if target is None:
            return ""
        with context.push():
            return str(target.render(context))


@register.tag("plugitInclude")
def plugit_include(parser: Parser, token: Token) -> PlugitIncludeNode:
    """`{% plugitInclude "route" %}`: include the template of the action at `route`."""
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][:1] not in {'"', "'"} or bits[1][-1:] != bits[1][:1]:
        raise template.TemplateSyntaxError('Use {% plugitInclude "action_route" %}.')
    return PlugitIncludeNode(bits[1][1:-1])


class PlugitGetUserNode(template.Node):
    """Put a user's allowed fields (or None) in a context variable."""

    def __init__(self, pk: FilterExpression, target: str) -> None:
        self.pk = pk
        self.target = target

    def render(self, context: Context) -> str:
        pk = self.pk.resolve(context)
        key = "" if pk is None else str(pk)
        users: dict[str, Any] = context.get(USERS_KEY) or {}
        if key and key not in users:
            missing = context.get(MISSING_KEY)
            if missing is not None:
                missing.users.add(key)
        context[self.target] = users.get(key)
        return ""


@register.tag("plugitGetUser")
def plugit_get_user(parser: Parser, token: Token) -> PlugitGetUserNode:
    """`{% plugitGetUser pk as var %}`: load the user `pk` into `var`."""
    bits = token.split_contents()
    if len(bits) != 4 or bits[2] != "as":
        raise template.TemplateSyntaxError("Use {% plugitGetUser pk as variable %}.")
    return PlugitGetUserNode(parser.compile_filter(bits[1]), bits[3])


_ANCHOR = re.compile(r"<a\s(?![^>]*\btarget=)", re.IGNORECASE)


@register.filter(is_safe=True)
def url_target_blank(text: Any) -> Any:
    """Open every link of `text` in a new tab (`target="_blank"`, without an opener)."""
    result = _ANCHOR.sub('<a target="_blank" rel="noopener noreferrer" ', str(text))
    return mark_safe(result) if isinstance(text, SafeData) else result  # noqa: S308


class SlotNode(template.Node):
    """Mark where the pipeline puts a per-request part of the layout."""

    def __init__(self, name: str) -> None:
        self.marker = SLOT_MARKER.format(name)

    def render(self, context: Context) -> str:
        return self.marker


@register.tag("plugit_slot")
def plugit_slot(parser: Parser, token: Token) -> SlotNode:
    """`{% plugit_slot "header" %}`: used by plugIt/base.html only."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError('Use {% plugit_slot "name" %}.')
    return SlotNode(bits[1].strip("\"'"))

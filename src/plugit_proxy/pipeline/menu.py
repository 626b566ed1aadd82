"""The side menu: the page template's own block named by the project's menu setting.

docs/protocol.md §4 step 6: the block is rendered a second time, in the page's context, and
shown once, in the layout's side column. No call is made for it; a template without that block
has no menu, and a block that fails to render is logged and shows no menu.
"""

from __future__ import annotations

from ..rendering import Rendered, apply_slots
from .render import menu_html
from .state import Page

__all__ = ["menu_block", "with_menu"]


def menu_block(page: Page) -> str | None:
    """Name the block that gives this project's side menu (None: no menu)."""
    name = (page.project.menu_action or "").strip().strip("/")  # "/menubar" as before
    return name or None


def with_menu(page: Page, rendered: Rendered) -> str:
    """Put the rendered side block in the layout's menu slot (or empty the slot)."""
    menu = menu_html(page.runtime, rendered.side, page.project.layout)
    return apply_slots(rendered.body, {"menu": menu})

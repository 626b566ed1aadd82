"""The page pipeline: one module per step of docs/protocol.md §4.

project  -> which project a path belongs to
state    -> the runtime (shared objects) and the page (one request)
meta     -> the action's meta, cached by its Expire header, misses coalesced
access   -> the meta's access rules
pagecache-> the rendered page cache
action   -> the action call (section 3) and its answer
template -> the action's template, cached by tag, compiled once
render   -> context, menu, layout
errors   -> error pages inside the layout
proxymode, media, switchers -> the other kinds of page request
handler  -> the ASGI entry of the pipeline, tying the steps together
"""

from __future__ import annotations

from .handler import PageHandler
from .state import Runtime

__all__ = ["PageHandler", "Runtime"]

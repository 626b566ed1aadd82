"""The PlugIt proxy: serves PlugIt services to browsers inside one platform layout.

`plugit_proxy.asgi.application` is the ASGI entry point; `plugit proxy --service URL` runs it.
"""

from __future__ import annotations

__all__: list[str] = []

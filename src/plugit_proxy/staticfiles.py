"""Static files (Bootstrap, the layout's CSS) served by WhiteNoise, over ASGI.

WhiteNoise finds the file and decides the answer (type, caching headers, ETag, 304,
compressed variants); this module only streams it. WhiteNoise's Django middleware hands a
synchronous file iterator to Django's ASGI handler, which Django warns about and serves
through a thread per chunk; reading here in worker threads avoids both.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Scope, Send
from whitenoise.middleware import WhiteNoiseMiddleware

__all__ = ["StaticFiles"]

CHUNK = 256 * 1024


class StaticFiles:
    """Answer the static files WhiteNoise knows; `None` from `find` means not ours."""

    def __init__(self) -> None:
        self.whitenoise = WhiteNoiseMiddleware(get_response=None)
        self.prefix: str = self.whitenoise.static_prefix

    def find(self, path: str) -> Any:
        """Return WhiteNoise's static file for `path`, or None."""
        if not path.startswith(self.prefix):
            return None
        if self.whitenoise.autorefresh:
            return self.whitenoise.find_file(path)
        return self.whitenoise.files.get(path)

    async def serve(self, static_file: Any, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file WhiteNoise chose, read in worker threads."""
        meta = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        response = static_file.get_response(scope["method"], meta)
        headers = [
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers
        ]
        await send(
            {"type": "http.response.start", "status": int(response.status), "headers": headers}
        )
        file = response.file
        if file is None:
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await asyncio.to_thread(file.close)

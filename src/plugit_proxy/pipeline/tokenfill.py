"""Proxy mode's CSRF token: filled into form fields and meta tags only (docs/protocol.md §5).

A service's HTML carries `{~__PLUGIT_CSRF_TOKEN__~}` where it wants the token. Its data may
carry the same text (a poll titled with it, a reflected URL), so the token goes only where a
page asks for it on purpose: the whole `value` of a hidden (or `csrfmiddlewaretoken`) input,
and the whole `content` of a meta tag. Text, URLs and scripts keep the placeholder as written.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

from plugit.protocol import CSRF_FORM_FIELD, CSRF_TOKEN_PLACEHOLDER

__all__ = ["fill_token", "fill_token_stream"]

PLACEHOLDER = CSRF_TOKEN_PLACEHOLDER.encode()
# An input or meta tag, whose quoted attribute values may hold `>`.
_TAG = re.compile(rb"""<(input|meta)\b((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.IGNORECASE)
_OPENING = re.compile(rb"<(?:input|meta)\b", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_TAG_NAMES = (b"<input", b"<meta")
# A tag longer than this is not held back for the next chunk: it is sent as it is.
MAX_TAG = 16 * 1024


def fill_token(html: bytes, token: str) -> bytes:
    """Put `token` in the form fields and meta tags of `html` that ask for it."""
    if PLACEHOLDER not in html:
        return html
    value = token.encode()
    return _TAG.sub(lambda tag: _filled(tag, value), html)


async def fill_token_stream(stream: AsyncIterable[bytes], token: str) -> AsyncIterator[bytes]:
    """Fill the token in a streamed body, holding back a tag cut between chunks."""
    pending = b""
    async for chunk in stream:
        pending += chunk
        end = _complete_end(pending)
        if end:
            yield fill_token(pending[:end], token)
            pending = pending[end:]
    if pending:
        yield fill_token(pending, token)


def _filled(tag: re.Match[bytes], token: bytes) -> bytes:
    name = tag.group(1).lower()
    attributes = tag.group(2)
    values: dict[bytes, tuple[bytes, int, int]] = {}
    for attribute in _ATTRIBUTE.finditer(attributes):
        key = attribute.group(1).lower()
        for group in (2, 3, 4):
            if attribute.group(group) is not None:
                # As browsers do, the first of repeated attributes counts.
                values.setdefault(
                    key, (attribute.group(group), attribute.start(group), attribute.end(group))
                )
                break
    wanted = b"content" if name == b"meta" else b"value"
    if name == b"input" and not _is_token_field(values):
        return tag.group(0)
    found = values.get(wanted)
    if found is None or found[0] != PLACEHOLDER:
        return tag.group(0)
    _, start, end = found
    offset = tag.start(2) - tag.start(0)
    whole = tag.group(0)
    return whole[: offset + start] + token + whole[offset + end :]


def _is_token_field(values: dict[bytes, tuple[bytes, int, int]]) -> bool:
    kind = values.get(b"type", (b"", 0, 0))[0].lower()
    name = values.get(b"name", (b"", 0, 0))[0]
    return kind == b"hidden" or name == CSRF_FORM_FIELD.encode()


def _complete_end(buffer: bytes) -> int:
    """Say how much of `buffer` holds no input or meta tag still waiting for its end."""
    window = max(0, len(buffer) - MAX_TAG)
    for opening in _OPENING.finditer(buffer, window):
        if _TAG.match(buffer, opening.start()) is None:
            return opening.start()
    tail = buffer[-(max(map(len, _TAG_NAMES)) - 1) :].lower()
    for size in range(len(tail), 0, -1):
        if any(name.startswith(tail[-size:]) for name in _TAG_NAMES):
            return len(buffer) - size
    return len(buffer)

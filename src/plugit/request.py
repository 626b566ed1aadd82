"""The request an action receives: `args`, `form`, `files`, `headers`, `method`, ...

The names and semantics are those of the Flask request that existing services were written
against: a multi-dict's `get` returns the *first* value, `getlist` all of them, and a missing
key read with `[]` is the caller's fault (400), not the service's (500).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, TypeVar

from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest

from plugit.exceptions import Abort
from plugit.protocol import HEADER_REQUEST_ID

__all__ = ["FileUpload", "MissingParameter", "MultiDict", "Request", "parse_query", "read_request"]

T = TypeVar("T")
V = TypeVar("V")


class MissingParameter(Abort, KeyError):
    """A parameter read with `request.form["name"]` was not sent: the caller gets 400."""

    def __init__(self, key: str) -> None:
        super().__init__(400, f"missing parameter {key!r}")
        self.key = key

    def __str__(self) -> str:
        return self.description


class MultiDict(Mapping[str, V]):
    """An immutable mapping of names to one or more values, in the order they came."""

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._lists: dict[str, list[V]] = {}
        for key, value in items:
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> V:
        try:
            return self._lists[key][0]
        except KeyError:
            raise MissingParameter(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.items(multi=True))!r})"

    def get(self, key: str, default: Any = None, type: Callable[[V], T] | None = None) -> Any:
        """The first value of `key`, converted by `type` (default when absent or unconvertible)."""
        values = self._lists.get(key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (TypeError, ValueError):
            return default

    def getlist(self, key: str, type: Callable[[V], T] | None = None) -> list[Any]:
        """Every value of `key` (values `type` cannot convert are left out)."""
        values = self._lists.get(key, [])
        if type is None:
            return list(values)
        converted = []
        for value in values:
            try:
                converted.append(type(value))
            except (TypeError, ValueError):
                continue
        return converted

    def items(self, multi: bool = False) -> Iterator[tuple[str, V]]:  # type: ignore[override]
        """Pairs of name and first value, or every pair with `multi=True`."""
        for key, values in self._lists.items():
            if multi:
                yield from ((key, value) for value in values)
            else:
                yield key, values[0]

    def lists(self) -> Iterator[tuple[str, list[V]]]:
        """Pairs of name and all its values."""
        for key, values in self._lists.items():
            yield key, list(values)

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        """A plain dict: first values, or lists of values with `flat=False`."""
        if flat:
            return {key: values[0] for key, values in self._lists.items()}
        return {key: list(values) for key, values in self._lists.items()}


class FileUpload:
    """An uploaded file: `filename`, `content_type`, `stream`, `read()` and `save()`."""

    def __init__(self, upload: UploadFile) -> None:
        self.filename = upload.filename or ""
        self.content_type = upload.content_type or "application/octet-stream"
        self.headers = upload.headers
        self.stream: IO[bytes] = upload.file

    def read(self, size: int = -1) -> bytes:
        """Read the file's bytes (from its start on the first call)."""
        return self.stream.read(size)

    def save(self, destination: str | IO[bytes]) -> None:
        """Copy the whole file to a path or a binary file object."""
        self.stream.seek(0)
        if isinstance(destination, str):
            with open(destination, "wb") as target:
                shutil.copyfileobj(self.stream, target)
        else:
            shutil.copyfileobj(self.stream, destination)

    def __repr__(self) -> str:
        return f"<FileUpload {self.filename!r} ({self.content_type})>"


class Request:
    """What an action reads of the proxy's call; built once the body is read and parsed."""

    def __init__(
        self,
        raw: StarletteRequest,
        *,
        args: MultiDict[str],
        form: MultiDict[str],
        files: MultiDict[FileUpload],
        body: bytes,
        remote_addr: str,
    ) -> None:
        self._raw = raw
        self.args = args
        self.form = form
        self.files = files
        self.data = body
        self.remote_addr = remote_addr
        self.method: str = raw.method
        self.path: str = raw.scope["path"]
        self.headers: Headers = raw.headers

    # `url` and `cookies` are built on first use: most actions never read them, and building
    # them costs a noticeable share of a trivial action's time.
    @property
    def url(self) -> str:
        """The full URL the proxy called."""
        return str(self._raw.url)

    @property
    def request_id(self) -> str:
        """The id of the browser's request the proxy sent (`X-Request-ID`), "" without one."""
        return self.headers.get(HEADER_REQUEST_ID, "")

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies the proxy sent (the session keys, with their original case)."""
        return self._raw.cookies

    @property
    def values(self) -> MultiDict[str]:
        """Query and form parameters together (query first)."""
        return MultiDict([*self.args.items(multi=True), *self.form.items(multi=True)])

    @property
    def json(self) -> Any:
        """The body parsed as JSON when it is JSON (None otherwise); malformed JSON is a 400."""
        content_type = self.headers.get("content-type", "")
        if "json" not in content_type or not self.data:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            raise Abort(400, "the body is not valid JSON") from None

    @property
    def scope(self) -> Mapping[str, Any]:
        """The ASGI scope of the call, for code that needs the raw details."""
        return self._raw.scope

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def parse_query(query_string: bytes) -> MultiDict[str]:
    """Parse a query string strictly: invalid UTF-8 or percent-encoding is the caller's 400."""
    if not query_string:
        return MultiDict()
    try:
        # Percent-encoded or not: some clients send raw UTF-8, which Flask accepted too.
        text = query_string.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Abort(400, "the query string is malformed") from None
    return MultiDict(pairs)


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_body(raw: StarletteRequest, limit: int) -> bytes:
    """Read the whole body, refusing (413) one larger than `limit` bytes before buffering it."""
    declared = raw.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Abort(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise Abort(413, f"the body is larger than {limit} bytes")
    # Read the ASGI messages directly (not through `raw.stream()`, an async generator that
    # costs a trivial action ~10% of its time); most calls have a single message.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await raw.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Abort(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    raw._body = body  # lets Starlette's form parser read what we already buffered
    return body


async def read_request(raw: StarletteRequest, *, limit: int, remote_addr: str) -> Request:
    """Parse query, body, form fields and uploads into the request an action receives."""
    args = parse_query(raw.scope.get("query_string", b""))
    body = await read_body(raw, limit)
    form: list[tuple[str, str]] = []
    files: list[tuple[str, FileUpload]] = []
    if raw.headers.get("content-type", "").lower().startswith(_FORM_TYPES):
        try:
            parsed = await raw.form(max_files=1000, max_fields=10000, max_part_size=limit)
        except (HTTPException, MultiPartException, ValueError):
            raise Abort(400, "the form data is malformed") from None
        for key, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                files.append((key, FileUpload(value)))
            else:
                form.append((key, value))
    return Request(
        raw,
        args=args,
        form=MultiDict(form),
        files=MultiDict(files),
        body=body,
        remote_addr=remote_addr,
    )

"""What an action may return besides data, and how each result goes on the wire."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, Response

from plugit.protocol import (
    ETAG_RESULT_KEY,
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_SET_SESSION_PREFIX,
)

__all__ = [
    "PlugItRedirect",
    "PlugItSendFile",
    "PlugItSetSession",
    "Redirect",
    "SendFile",
    "SetSession",
    "json_response",
    "to_response",
]

_HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _header_safe(value: str, what: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"{what} may not contain line breaks or NUL: {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Redirect:
    """Send the browser to `url`, under the proxy's mount unless `no_prefix`."""

    url: str
    no_prefix: bool = False

    def __post_init__(self) -> None:
        _header_safe(self.url, "a redirect URL")


@dataclasses.dataclass(frozen=True)
class SendFile:
    """Send a file's bytes to the browser, inline or as an attachment."""

    filename: str | Path
    mimetype: str
    as_attachment: bool = False
    attachment_filename: str = ""


@dataclasses.dataclass(frozen=True)
class SetSession:
    """Answer as `base` does, and store `things_to_set` in the user's proxy-held session.

    `things_to_set` defaults to a new empty dict, which the action may still fill.
    """

    base: Any
    things_to_set: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.raw_headers()  # refuse a bad key or value where the action built it

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """One `EbuIo-PlugIt-SetSession-<key>: <value>` header per item, keys' case kept."""
        headers = []
        for key, value in self.things_to_set.items():
            if not _HEADER_TOKEN.match(str(key)):
                raise ValueError(f"session key {key!r} must be a plain token (letters, digits, -_)")
            name = (HEADER_SET_SESSION_PREFIX + str(key)).encode("latin-1")
            headers.append((name, _header_safe(str(value), f"session value for {key!r}").encode()))
        return headers


# The names existing services import from plugit.utils.
PlugItRedirect = Redirect
PlugItSendFile = SendFile
PlugItSetSession = SetSession


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"an action returned {type(value).__name__}, which JSON cannot carry")


def json_response(
    data: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A compact JSON answer."""
    body = json.dumps(data, default=_json_default, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code, headers, media_type="application/json")


def to_response(result: Any, *, send_etag: bool = False) -> Response:
    """Turn what an action returned into the protocol's answer."""
    match result:
        case Response():
            return result
        case SetSession(base=base):
            response = to_response(base, send_etag=send_etag)
            # Raw headers keep the key's case ("userId"), which Starlette's header map would lose.
            response.raw_headers.extend(result.raw_headers())
            return response
        case Redirect(url=url, no_prefix=no_prefix):
            headers = {HEADER_REDIRECT: url}
            if no_prefix:
                headers[HEADER_REDIRECT_NO_PREFIX] = "True"
            return Response(b"", 200, headers)
        case SendFile():
            return _file_response(result)
        case None:
            return json_response({})
        case str() | bytes():
            return Response(result, 200, media_type="text/html")
        case dict() if send_etag and ETAG_RESULT_KEY in result:
            data = dict(result)
            etag = _header_safe(str(data.pop(ETAG_RESULT_KEY)), "an ETag")
            return json_response(data, headers={"ETag": etag})
        case _:
            return json_response(result)


def _file_response(send: SendFile) -> Response:
    path = Path(send.filename)
    if not path.is_file():
        raise FileNotFoundError(f"PlugItSendFile: no file at {path}")
    headers = {HEADER_IS_FILE: "True"}
    response = FileResponse(path, media_type=send.mimetype, headers=headers)
    if send.as_attachment:
        name = send.attachment_filename or path.name
        response.headers["Content-Disposition"] = _attachment(name)
    return response


def _attachment(filename: str) -> str:
    """A Content-Disposition value that survives any file name (RFC 6266 filename*)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
    ascii_name = _header_safe(ascii_name, "an attachment name").replace("?", "_")
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    from urllib.parse import quote

    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
